// The segmented log's public surface (see docs/format.md for the on-disk format).
export { Log, type ReaderOptions, type SegmentInfo } from './log.js';
export {
  defaultLogConfig,
  parseSyncPolicy,
  resolveLogConfig,
  type LogConfig,
  type LogOptions,
  type SegmentConfig,
  type SyncPolicy,
} from './config.js';
export type { LogRecord, NewRecord } from './record.js';
export type { FileHandle, FileSystem, OpenMode } from './fs.js';
export { NodeFileSystem } from './node-fs.js';
export { MemoryFileSystem } from './memory-fs.js';
export { readWholeFile, writeFileAtomic } from './atomic-file.js';
