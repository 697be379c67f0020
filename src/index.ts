// The public API of replog as a library.
export * from './errors.js';
export { createLogger, silentLogger, type Logger } from './logger.js';
export { VERSION } from './version.js';
export {
  RaftCore,
  MemoryStorage as RaftMemoryStorage,
  RaftRefusedError,
  encodeConfig,
  decodeConfig,
  type RaftOptions,
  type RaftStorage,
  type RaftStatus,
} from './raft/core/index.js';
export * from './log/index.js';
