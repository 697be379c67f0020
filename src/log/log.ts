import { assert, ClosedError, CorruptionError, InvalidArgumentError, MAX_OFFSET, OffsetOutOfRangeError, RecordTooLargeError, storageError, UnavailableError, asError } from '../errors.js';
import type { EntryType } from '../raft/core/types.js';
import { resolveLogConfig, type LogConfig, type LogOptions } from './config.js';
import { parseSegmentFileName } from './file-header.js';
import { InlineGate } from './inline-gate.js';
import { LogState } from './log-state.js';
import { LogWriter } from './log-writer.js';
import { RECORD_HEADER_BYTES, isEntryType, type LogRecord, type NewRecord } from './record.js';
import { Segment } from './segment.js';
import { openSegment } from './segment-recovery.js';
import { SMALL_READ_MAX_BYTES } from './store.js';
import { OffsetWaiters } from '../util/offset-waiters.js';

/** Limits of one batch yielded by `Log.reader()`. */
export interface ReaderOptions {
  maxBatchRecords?: number;
  maxBatchBytes?: number;
}

/** One segment as `Log.segments()` describes it (retention decides from this). */
export interface SegmentInfo {
  baseOffset: number;
  /** Offset after the segment's last record. */
  nextOffset: number;
  /** Bytes of its store and index files. */
  sizeBytes: number;
  storePath: string;
}

/** A read that raced with a truncation is read again this many times before it gives up. */
const READ_RETRIES = 3;

/** The records [fromRel, toRel) of one segment, as part of a read. */
interface Part {
  seg: Segment;
  fromRel: number;
  toRel: number;
}

/** A read in flight: its plan, and the bytes of each part once its pread is done. */
interface Fetch {
  /** `LogState.epoch` when the read was planned: if it moved, the plan may be stale. */
  epoch: number;
  from: number;
  /** Offset after the last planned record (`from` when there is none). */
  end: number;
  parts: Part[];
  bytes: Promise<Buffer[]>;
}

/** A rejected promise that is not reported as unhandled if nobody awaits it (a read-ahead). */
function rejected(err: unknown): Promise<never> {
  const p = Promise.reject(asError(err));
  p.catch(() => undefined);
  return p;
}

/**
 * A durable, segmented, append-only log of records (docs/format.md). One writer (group commit),
 * any number of concurrent readers, which only ever see published records: with sync `always`,
 * records that are fsynced; otherwise records that are written.
 */
export class Log {
  private readonly writer: LogWriter;
  /** Whether small reads may run on the event-loop thread (see readParts). */
  private readonly inlineRead: InlineGate;
  private closePromise: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  private constructor(private readonly state: LogState) {
    this.writer = new LogWriter(state);
    this.inlineRead = new InlineGate(state.config.inlineReadMaxMs);
    const { sync } = state.config;
    if (sync.mode === 'interval') {
      this.timer = setInterval(() => this.intervalSync(), sync.intervalMs);
      this.timer.unref();
    }
  }

  /** Opens (creating if needed) the log in `dir`, recovering from a crash if there was one. */
  static async open(dir: string, options: LogOptions = {}): Promise<Log> {
    const config = resolveLogConfig(options);
    const logger = config.logger.child({ component: 'log' });
    const segments = await openSegments(dir, config, logger);
    return new Log(new LogState(dir, config, logger, segments, new OffsetWaiters(config.maxWaiters)));
  }

  get dir(): string {
    return this.state.dir;
  }

  get config(): Readonly<LogConfig> {
    return this.state.config;
  }

  /** Appends one record; resolves with its offset once it is durable under the sync policy. */
  append(record: NewRecord): Promise<number> {
    return this.appendBatch([record]);
  }

  /** Appends records with consecutive offsets in one write and one fsync; resolves with the first. */
  appendBatch(records: readonly NewRecord[]): Promise<number> {
    // Not `async`: the writer's promise is returned as it is (an async wrapper adds a promise and
    // two microtask hops to every append).
    let frameBytes: number;
    try {
      frameBytes = this.validate(records);
    } catch (err) {
      return Promise.reject(asError(err));
    }
    return this.writer.append(records, frameBytes);
  }

  /** Reads one record; OffsetOutOfRangeError outside [lowestOffset, highestOffset]. */
  async read(offset: number): Promise<LogRecord> {
    const [record] = await this.readRange(offset, 1, 1);
    if (record === undefined) throw this.outOfRange(offset);
    return record;
  }

  /**
   * Reads up to `maxRecords` records from `from`, stopping before their values exceed `maxBytes`
   * (at least one record). One pread per segment touched. [] when `from` is just past the end.
   */
  async readRange(from: number, maxRecords: number, maxBytes: number): Promise<LogRecord[]> {
    const first = this.fetch(from, maxRecords, maxBytes);
    return this.decode(first, await first.bytes) ?? this.readAgain(from, maxRecords, maxBytes);
  }

  /** Synchronous read of [from, toExclusive), stopping before the values exceed maxBytes (at least one). */
  readRangeSync(from: number, toExclusive: number, maxBytes: number): LogRecord[] {
    if (toExclusive > this.state.published) throw this.outOfRange(toExclusive - 1);
    if (toExclusive <= from) {
      this.plan(from, from, maxBytes);
      return [];
    }
    const out: LogRecord[] = [];
    for (const { seg, fromRel, toRel } of this.plan(from, toExclusive, maxBytes)) out.push(...seg.readRangeSync(fromRel, toRel));
    return out;
  }

  /** Raft term of the record at `offset`, from the in-memory index. */
  termAt(offset: number): number {
    this.checkReadable(offset);
    const seg = this.state.find(offset);
    return seg.index.term(offset - seg.baseOffset);
  }

  /** Entry type of the record at `offset`, from the in-memory index. */
  typeAt(offset: number): EntryType {
    this.checkReadable(offset);
    const seg = this.state.find(offset);
    return seg.index.type(offset - seg.baseOffset);
  }

  /**
   * Batches of records from `from` to the end as it is when each batch is read; does not follow
   * the tail. Pipelined: once a batch's bytes are in, the next batch's pread starts (or is done
   * at once, when it is small enough to be read inline: see readParts), then this one is checked
   * and yielded (at most one read ahead; one that raced with a truncation is read again).
   */
  async *reader(from: number, opts: ReaderOptions = {}): AsyncGenerator<LogRecord[], void, undefined> {
    const maxRecords = opts.maxBatchRecords ?? 10_000;
    const maxBytes = opts.maxBatchBytes ?? 1024 * 1024;
    let pending = this.fetch(from, maxRecords, maxBytes);
    for (;;) {
      const bytes = await pending.bytes;
      const current = pending;
      if (current.end < this.state.published) pending = this.fetch(current.end, maxRecords, maxBytes);
      const batch = this.decode(current, bytes) ?? (await this.readAgain(current.from, maxRecords, maxBytes));
      const last = batch[batch.length - 1];
      if (last === undefined) return;
      if (pending === current || last.offset + 1 !== current.end) pending = this.fetch(last.offset + 1, maxRecords, maxBytes);
      yield batch;
    }
  }

  /** Resolves once `offset` is published (at once if it is); rejects on abort and with ClosedError on close. */
  waitFor(offset: number, signal?: AbortSignal): Promise<void> {
    if (this.closePromise) return Promise.reject(new ClosedError());
    if (offset < this.state.published) return Promise.resolve();
    return this.state.waiters.wait(offset, signal);
  }

  /** Deletes whole segments whose records are all below `lowest` (never the active segment). */
  truncate(lowest: number): Promise<void> {
    return this.writer.task(() => this.writer.truncatePrefix(lowest));
  }

  /** Drops every record at or above `from`, durably, before resolving. */
  truncateSuffix(from: number): Promise<void> {
    return this.writer.task(() => this.writer.truncateSuffix(from));
  }

  /** Deletes every record and starts again, empty, at `initialOffset` (default: the configured one). */
  reset(initialOffset = this.state.config.segment.initialOffset): Promise<void> {
    if (!Number.isSafeInteger(initialOffset) || initialOffset < 0) {
      return Promise.reject(new InvalidArgumentError(`initial offset ${initialOffset} is not a non-negative integer`));
    }
    return this.writer.task(() => this.writer.reset(initialOffset));
  }

  /** fsync of everything written so far. */
  sync(): Promise<void> {
    return this.writer.task(() => this.writer.syncAll());
  }

  /** Syncs (unless the log failed) and closes; idempotent. */
  close(): Promise<void> {
    this.closePromise ??= this.writer.task(() => this.closeNow(), true);
    return this.closePromise;
  }

  /** Closes the log and deletes its directory. */
  async remove(): Promise<void> {
    await this.close();
    try {
      await this.state.config.fs.rmrf(this.state.dir);
    } catch (err) {
      throw storageError('rm', this.state.dir, err);
    }
  }

  lowestOffset(): number {
    return this.state.lowestOffset();
  }

  /** Highest published offset; lowestOffset() - 1 when the log is empty. */
  highestOffset(): number {
    return this.state.published - 1;
  }

  /** Offset the next append gets (once everything queued is written). */
  nextOffset(): number {
    return this.state.published;
  }

  sizeBytes(): number {
    return this.state.segments.reduce((sum, s) => sum + s.store.sizeBytes + s.indexBytes(), 0);
  }

  segmentCount(): number {
    return this.state.segments.length;
  }

  /** The segments, oldest first; the last one is the active segment (appends go there). */
  segments(): SegmentInfo[] {
    return this.state.segments.map((s) => ({ baseOffset: s.baseOffset, nextOffset: s.nextOffset, sizeBytes: s.store.sizeBytes + s.indexBytes(), storePath: s.storePath }));
  }

  private async closeNow(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    let syncError: Error | null = null;
    if (!this.state.failed) {
      try {
        await this.writer.syncAll();
      } catch (err) {
        syncError = asError(err);
      }
    }
    await Promise.all(this.state.segments.map((s) => s.retire()));
    this.state.waiters.rejectAll(new ClosedError());
    if (syncError !== null) throw syncError;
  }

  private intervalSync(): void {
    if (!this.writer.dirty || this.state.failed || this.closePromise) return;
    this.writer.dirty = false;
    this.writer.task(() => this.writer.syncAll()).catch(() => undefined);
  }

  /** Checks records and returns their framed size. */
  private validate(records: readonly NewRecord[]): number {
    if (records.length === 0) throw new InvalidArgumentError('an append needs at least one record');
    const { maxRecordBytes, maxQueuedBytes } = this.state.config;
    let bytes = 0;
    for (const rec of records) {
      if (rec.value.length > maxRecordBytes) throw new RecordTooLargeError(rec.value.length, maxRecordBytes);
      const term = rec.term ?? 0;
      if (!Number.isSafeInteger(term) || term < 0) throw new InvalidArgumentError(`term ${term} is not a non-negative integer`);
      if (rec.type !== undefined && !isEntryType(rec.type)) throw new InvalidArgumentError(`unknown entry type ${String(rec.type)}`);
      bytes += RECORD_HEADER_BYTES + rec.value.length;
    }
    if (bytes > maxQueuedBytes) throw new RecordTooLargeError(bytes, maxQueuedBytes, 'batch');
    if (this.state.published + records.length > MAX_OFFSET) throw new InvalidArgumentError('the log has run out of offsets');
    return bytes;
  }

  /**
   * Plans a read (checking the range now) and starts its preads. Its failure surfaces only when
   * `bytes` is awaited, so a read-ahead nobody uses rejects nothing.
   */
  private fetch(from: number, maxRecords: number, maxBytes: number): Fetch {
    const epoch = this.state.epoch;
    let parts: Part[];
    try {
      parts = this.plan(from, from + Math.max(1, maxRecords), maxBytes);
    } catch (err) {
      return { epoch, from, end: from, parts: [], bytes: rejected(err) };
    }
    const last = parts[parts.length - 1];
    const end = last === undefined ? from : last.seg.baseOffset + last.toRel;
    return { epoch, from, end, parts, bytes: this.readParts(parts) };
  }

  /**
   * The store bytes of each part: on the event-loop thread when they are few (at most 64 KiB) and
   * recent reads were fast (InlineGate: the page cache answers in microseconds, a thread-pool
   * round trip costs a fifth of a millisecond), else with a pread per part on the thread pool.
   * An inline read needs no retain(): it is planned and done in one synchronous turn, so no
   * truncation, retention or close can come between. A failed inline read shuts the gate.
   */
  private readParts(parts: Part[]): Promise<Buffer[]> {
    if (parts.length === 0) return Promise.resolve([]);
    let total = 0;
    for (const { seg, fromRel, toRel } of parts) total += seg.spanBytes(fromRel, toRel);
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    if (total <= SMALL_READ_MAX_BYTES && this.inlineRead.isOpen()) {
      let bytes: Buffer[];
      try {
        bytes = parts.map(({ seg, fromRel, toRel }) => seg.readBytesSync(fromRel, toRel));
      } catch (err) {
        this.inlineRead.shut();
        return rejected(err);
      }
      this.inlineRead.observe(seconds(), true);
      return Promise.resolve(bytes);
    }
    const reads = parts.map(({ seg, fromRel, toRel }) => {
      seg.retain();
      return seg.readBytes(fromRel, toRel).finally(() => seg.release());
    });
    const bytes = Promise.all(reads);
    bytes.then(
      () => this.inlineRead.observe(seconds(), false),
      () => undefined,
    );
    return bytes;
  }

  /** Checks and splits a fetch's bytes into records; null when a truncation raced with it. */
  private decode(fetch: Fetch, bytes: Buffer[]): LogRecord[] | null {
    if (fetch.epoch !== this.state.epoch) return null;
    if (fetch.parts.length === 1 && bytes[0] !== undefined) {
      const { seg, fromRel, toRel } = fetch.parts[0] as Part;
      return seg.decode(bytes[0], fromRel, toRel);
    }
    const out: LogRecord[] = [];
    for (const [i, { seg, fromRel, toRel }] of fetch.parts.entries()) {
      const buf = bytes[i];
      assert(buf !== undefined, 'a fetch has the bytes of every part');
      for (const rec of seg.decode(buf, fromRel, toRel)) out.push(rec);
    }
    return out;
  }

  /** A read that raced with truncations: tried again, READ_RETRIES times at most. */
  private async readAgain(from: number, maxRecords: number, maxBytes: number): Promise<LogRecord[]> {
    for (let attempt = 0; attempt < READ_RETRIES; attempt++) {
      const fetch = this.fetch(from, maxRecords, maxBytes);
      const records = this.decode(fetch, await fetch.bytes);
      if (records !== null) return records;
    }
    throw new UnavailableError(`a read at offset ${from} raced with ${READ_RETRIES + 1} truncations of the log; try again`);
  }

  /** Splits [from, to) into per-segment ranges, limited by value bytes; checks the range. */
  private plan(from: number, to: number, maxBytes: number): Part[] {
    const { state } = this;
    if (this.closePromise) throw new ClosedError();
    if (from === state.published && from >= state.lowestOffset()) return [];
    this.checkReadable(from);
    const end = Math.min(to, state.published);
    const out: Part[] = [];
    let bytes = 0;
    let offset = from;
    while (offset < end) {
      const seg = state.find(offset);
      const fromRel = offset - seg.baseOffset;
      const stop = Math.min(seg.nextOffset, end) - seg.baseOffset;
      const toRel = seg.cutByBytes(fromRel, stop, maxBytes - bytes, out.length === 0);
      if (toRel > fromRel) {
        out.push({ seg, fromRel, toRel });
        bytes += seg.span(toRel - 1).end - seg.index.position(fromRel) - RECORD_HEADER_BYTES * (toRel - fromRel);
      }
      if (toRel < stop) break;
      offset = seg.baseOffset + toRel;
    }
    return out;
  }

  private checkReadable(offset: number): void {
    if (this.closePromise) throw new ClosedError();
    if (!Number.isSafeInteger(offset) || offset < this.state.lowestOffset() || offset >= this.state.published) throw this.outOfRange(offset);
  }

  private outOfRange(offset: number): OffsetOutOfRangeError {
    return new OffsetOutOfRangeError(offset, this.state.lowestOffset(), this.state.published - 1);
  }
}

/** Lists, opens and checks the segments in `dir`; creates the first one in an empty log. */
async function openSegments(dir: string, config: LogConfig, logger: LogState['logger']): Promise<Segment[]> {
  const { fs } = config;
  try {
    await fs.mkdirp(dir);
  } catch (err) {
    throw storageError('mkdir', dir, err);
  }
  const bases = await listSegmentBases(dir, config, logger);
  const segments: Segment[] = [];
  try {
    for (const [i, base] of bases.entries()) {
      const seg = await openSegment(fs, dir, base, i === bases.length - 1, logger);
      segments.push(seg);
      checkContiguous(segments[i - 1], seg);
    }
    if (segments.length === 0) {
      segments.push(await Segment.create(fs, dir, config.segment.initialOffset, logger));
      await fs.fsyncDir(dir).catch((err: unknown) => Promise.reject(storageError('fsync', dir, err)));
    }
  } catch (err) {
    await Promise.allSettled(segments.map((s) => s.close()));
    throw err;
  }
  return segments;
}

async function listSegmentBases(dir: string, config: LogConfig, logger: LogState['logger']): Promise<number[]> {
  let names: string[];
  try {
    names = await config.fs.readdir(dir);
  } catch (err) {
    throw storageError('readdir', dir, err);
  }
  const stores = new Set<number>();
  const indexes = new Set<number>();
  for (const name of names) {
    const parsed = parseSegmentFileName(name);
    if (parsed === null) logger.warn({ dir, file: name }, 'ignoring a stray file in the log directory');
    else (parsed.kind === 'store' ? stores : indexes).add(parsed.baseOffset);
  }
  for (const base of indexes) {
    if (!stores.has(base)) logger.warn({ dir, base }, 'ignoring an index file without its store file');
  }
  return [...stores].sort((a, b) => a - b);
}

function checkContiguous(prev: Segment | undefined, seg: Segment): void {
  if (prev === undefined) return;
  if (seg.baseOffset !== prev.nextOffset) {
    throw new CorruptionError(seg.storePath, 0, `segment starts at offset ${seg.baseOffset} but the previous segment ends before ${prev.nextOffset}`);
  }
  if (prev.count > 0 && seg.count > 0 && seg.index.term(0) < prev.index.term(prev.count - 1)) {
    throw new CorruptionError(seg.storePath, 0, `the first record's term ${seg.index.term(0)} is below the previous segment's last term`);
  }
}
