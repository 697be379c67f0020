import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { FileSystem } from './fs.js';
import { NodeFileSystem } from './node-fs.js';

/**
 * When appended records are fsynced.
 * - `always` (default): before an append resolves; records become readable only once synced.
 * - `interval`: every `intervalMs` (and on roll, sync() and close()); acknowledged data written
 *   in the last interval is lost on power loss.
 * - `never`: only on roll, sync() and close(); for tests and benchmarks.
 */
export type SyncPolicy = { mode: 'always' } | { mode: 'interval'; intervalMs: number } | { mode: 'never' };

export interface SegmentConfig {
  /** A segment's store file rolls before it would exceed this size (header included). */
  maxStoreBytes: number;
  /** A segment's index file rolls before it would exceed this size (header included). */
  maxIndexBytes: number;
  /** Offset of the first record of a new, empty log. */
  initialOffset: number;
}

export interface LogConfig {
  segment: SegmentConfig;
  /** Largest record value accepted (bytes). */
  maxRecordBytes: number;
  /** Most bytes of framed records written (and synced) as one group commit. */
  maxGroupBytes: number;
  /** Most bytes of records queued for the writer; appends beyond are refused (UnavailableError). */
  maxQueuedBytes: number;
  /** Most concurrent waitFor() calls. */
  maxWaiters: number;
  sync: SyncPolicy;
  /**
   * Wait for the end of the event-loop turn before writing, so every append issued in the turn
   * joins one group (default true). A caller that already batches (the Raft node hands the log one
   * batch per Ready) turns it off to save a turn of latency.
   */
  gatherTurn: boolean;
  /**
   * A lone small append (one record in its group, nothing queued behind it, at most 64 KiB) is
   * fdatasynced on the event-loop thread after 32 flushes in a row took less than this (ms),
   * skipping the thread-pool round trip; 0 always uses the thread pool (default 2). One slow
   * inline flush per 32 is forgiven; a second within 32 sends flushes back to the pool until the
   * next 32 fast ones (InlineGate).
   */
  inlineSyncMaxMs: number;
  /**
   * A read of at most 64 KiB of store bytes is done on the event-loop thread after 32 reads in a
   * row took less than this (ms): a pread from the page cache takes microseconds, its thread-pool
   * round trip a fifth of a millisecond. One slower inline read (the bytes were not cached) per
   * 32 is forgiven; a second within 32 sends reads back to the pool until the next 32 fast ones
   * (InlineGate); 0 always uses the pool
   * (default 1).
   */
  inlineReadMaxMs: number;
  fs: FileSystem;
  logger: Logger;
  /** Metrics hook: called with the duration of every store fdatasync, in seconds. */
  onFsync?: (seconds: number) => void;
}

/** What `Log.open` accepts: any part of the configuration. */
export type LogOptions = Partial<Omit<LogConfig, 'segment'>> & { segment?: Partial<SegmentConfig> };

const MiB = 1024 * 1024;

export function defaultLogConfig(): LogConfig {
  return {
    segment: { maxStoreBytes: 64 * MiB, maxIndexBytes: 8 * MiB, initialOffset: 0 },
    maxRecordBytes: MiB,
    maxGroupBytes: 4 * MiB,
    maxQueuedBytes: 256 * MiB,
    maxWaiters: 100_000,
    sync: { mode: 'always' },
    gatherTurn: true,
    inlineSyncMaxMs: 2,
    inlineReadMaxMs: 1,
    fs: new NodeFileSystem(),
    logger: silentLogger(),
  };
}

/** Fills in defaults and validates; throws ConfigError naming the bad option. */
export function resolveLogConfig(opts: LogOptions = {}): LogConfig {
  const base = defaultLogConfig();
  const config: LogConfig = { ...base, ...opts, segment: { ...base.segment, ...opts.segment } };
  positiveInt('segment.maxStoreBytes', config.segment.maxStoreBytes);
  positiveInt('segment.maxIndexBytes', config.segment.maxIndexBytes);
  nonNegativeInt('segment.initialOffset', config.segment.initialOffset);
  positiveInt('maxRecordBytes', config.maxRecordBytes);
  positiveInt('maxGroupBytes', config.maxGroupBytes);
  positiveInt('maxQueuedBytes', config.maxQueuedBytes);
  positiveInt('maxWaiters', config.maxWaiters);
  if (config.sync.mode === 'interval') positiveInt('sync.intervalMs', config.sync.intervalMs);
  milliseconds('inlineSyncMaxMs', config.inlineSyncMaxMs);
  milliseconds('inlineReadMaxMs', config.inlineReadMaxMs);
  return config;
}

/** Parses `always`, `never` or `interval:<ms>` (the CLI and config-file form). */
export function parseSyncPolicy(text: string): SyncPolicy {
  const t = text.trim();
  if (t === 'always' || t === 'never') return { mode: t };
  const m = /^interval:(\d+)$/.exec(t);
  const ms = m?.[1] === undefined ? NaN : Number(m[1]);
  if (Number.isSafeInteger(ms) && ms > 0) return { mode: 'interval', intervalMs: ms };
  throw new ConfigError('sync', `expected "always", "never" or "interval:<milliseconds>" (e.g. interval:100), got "${text}"`);
}

function positiveInt(option: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(option, `must be a positive integer, got ${value}`);
}

function nonNegativeInt(option: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError(option, `must be a non-negative integer, got ${value}`);
}

/** A gate limit (InlineGate): a finite number of milliseconds from 0 to 1000. */
function milliseconds(option: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value > 1000) throw new ConfigError(option, `must be a number of milliseconds from 0 to 1000, got ${value}`);
}
