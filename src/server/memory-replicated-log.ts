/**
 * The in-memory twin of ReplicatedLog: a one-node "cluster" whose records live in an array.
 * Tests of the service use it; it follows the interface's contract exactly (offsets, errors,
 * waitFor, limits) so the service cannot tell it from the real ones.
 */
import { ClosedError, OffsetOutOfRangeError, RecordTooLargeError } from '../errors.js';
import type { AppendOptions, ConsumedRecord, ReadBatchLimits, ReplicatedLog, ServerInfo } from '../replicated-log.js';
import { OffsetWaiters } from '../util/offset-waiters.js';

export interface MemoryReplicatedLogOptions {
  initialOffset?: number;
  maxRecordBytes?: number;
  self?: ServerInfo;
  /** Lets a test inject a failure (e.g. DiskFullError) into the next appends. */
  failAppend?: () => Error | undefined;
}

export class MemoryReplicatedLog implements ReplicatedLog {
  private readonly records: ConsumedRecord[] = [];
  private readonly base: number;
  private readonly maxRecordBytes: number;
  private readonly waiters = new OffsetWaiters(100_000);
  private closed = false;

  constructor(private readonly opts: MemoryReplicatedLogOptions = {}) {
    this.base = opts.initialOffset ?? 0;
    this.maxRecordBytes = opts.maxRecordBytes ?? 1024 * 1024;
  }

  append(values: readonly Buffer[], _opts?: AppendOptions): Promise<number> {
    if (this.closed) return Promise.reject(new ClosedError());
    const injected = this.opts.failAppend?.();
    if (injected) return Promise.reject(injected);
    for (const v of values) {
      if (v.length > this.maxRecordBytes) return Promise.reject(new RecordTooLargeError(v.length, this.maxRecordBytes));
    }
    const first = this.highestOffset() + 1;
    for (const value of values) {
      this.records.push({ offset: this.highestOffset() + 1, value: Buffer.from(value), term: 0 });
    }
    this.waiters.notify(this.highestOffset());
    return Promise.resolve(first);
  }

  read(offset: number): Promise<ConsumedRecord> {
    if (this.closed) return Promise.reject(new ClosedError());
    const rec = this.records[offset - this.base];
    if (offset < this.base || !rec) {
      return Promise.reject(new OffsetOutOfRangeError(offset, this.lowestOffset(), this.highestOffset()));
    }
    return Promise.resolve(rec);
  }

  readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]> {
    if (this.closed) return Promise.reject(new ClosedError());
    if (from < this.base || from > this.highestOffset() + 1) {
      return Promise.reject(new OffsetOutOfRangeError(from, this.lowestOffset(), this.highestOffset()));
    }
    const out: ConsumedRecord[] = [];
    let bytes = 0;
    for (let i = from - this.base; i < this.records.length && out.length < limits.maxRecords; i++) {
      const rec = this.records[i];
      if (!rec || (out.length > 0 && bytes + rec.value.length > limits.maxBytes)) break;
      bytes += rec.value.length;
      out.push(rec);
    }
    return Promise.resolve(out);
  }

  waitFor(offset: number, signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError());
    if (offset <= this.highestOffset()) return Promise.resolve();
    return this.waiters.wait(offset, signal);
  }

  lowestOffset(): number {
    return this.base;
  }

  highestOffset(): number {
    return this.base + this.records.length - 1;
  }

  servers(): Promise<ServerInfo[]> {
    return Promise.resolve([this.opts.self ?? { id: 'memory', rpcAddr: '127.0.0.1:0', isLeader: true }]);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.waiters.rejectAll(new ClosedError());
    }
    return Promise.resolve();
  }
}
