/** The pure Raft core: the state machine, its in-memory storage twin, and the config codec. */
export { RaftCore, type RaftStatus, type ProgressStatus } from './raft.js';
export { MemoryStorage } from './memory-storage.js';
export { encodeConfig, decodeConfig, applyConfigChange, normalizeConfig } from './config.js';
export { RaftRefusedError, type RaftRefusalReason } from '../../errors.js';
export * from './types.js';
