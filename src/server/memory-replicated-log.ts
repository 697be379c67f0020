/**
 * The in-memory twin of ReplicatedLog: a one-node "cluster" whose records live in an array.
 * Tests of the service use it; it follows the interface's contract exactly (offsets, errors,
 * waitFor, limits) so the service cannot tell it from the real ones.
 */
import { ClosedError, OffsetOutOfRangeError, ProducerSequenceError, RecordTooLargeError, asError } from '../errors.js';
import { checkProducer } from '../raft/dedup-header.js';
import { ProducerTable, classifyRequest, defaultDedupLimits, type DedupLimits } from '../raft/dedup-state.js';
import type { AppendOptions, AppendResult, ConsumedRecord, ProducerRef, ReadBatchLimits, ReplicatedLog, ServerInfo } from '../replicated-log.js';
import { OffsetWaiters } from '../util/offset-waiters.js';

export interface MemoryReplicatedLogOptions {
  initialOffset?: number;
  maxRecordBytes?: number;
  self?: ServerInfo;
  /** Lets a test inject a failure (e.g. DiskFullError) into the next appends. */
  failAppend?: () => Error | undefined;
  /** Producer-dedup limits (an entry's "index" here is its offset - initialOffset + 1). */
  dedup?: Partial<DedupLimits>;
}

export class MemoryReplicatedLog implements ReplicatedLog {
  private readonly records: ConsumedRecord[] = [];
  private readonly base: number;
  private readonly maxRecordBytes: number;
  private readonly waiters = new OffsetWaiters(100_000);
  /** The same producer-dedup state as the Raft log's (appends here are immediate: nothing in flight). */
  private readonly producers: ProducerTable;
  private closed = false;

  constructor(private readonly opts: MemoryReplicatedLogOptions = {}) {
    this.base = opts.initialOffset ?? 0;
    this.maxRecordBytes = opts.maxRecordBytes ?? 1024 * 1024;
    this.producers = new ProducerTable({ ...defaultDedupLimits, ...opts.dedup });
  }

  appendIdempotent(values: readonly Buffer[], producer: ProducerRef, _opts?: AppendOptions): Promise<AppendResult> {
    try {
      checkProducer(producer, values.length);
    } catch (err) {
      return Promise.reject(asError(err));
    }
    const { id, sequence } = producer;
    const last = this.producers.lastSequence(id);
    const appendFrom = (skip: number, offset?: number): Promise<AppendResult> =>
      this.append(values.slice(skip)).then((first) => {
        const index = first - this.base + 1;
        this.producers.apply({ producerId: id, index, sequence: sequence + skip, offset: first, count: values.length - skip });
        return { offset: offset ?? first, duplicate: false };
      });
    switch (classifyRequest(last, sequence, values.length)) {
      case 'unknown-producer':
        return Promise.reject(new ProducerSequenceError(id, 'unknown-producer', sequence, 0));
      case 'gap':
        return Promise.reject(new ProducerSequenceError(id, 'gap', sequence, (last ?? -1) + 1));
      case 'new':
        return appendFrom(0);
      case 'duplicate': {
        const held = this.producers.lookup(id, sequence);
        if (held.state === 'too-old') return Promise.reject(new ProducerSequenceError(id, 'too-old', sequence, held.earliest));
        if (held.state === 'absent') return appendFrom(0);
        return Promise.resolve({ offset: held.offset, duplicate: true });
      }
      case 'partial': {
        const held = this.producers.lookup(id, sequence);
        return appendFrom((last ?? 0) - sequence + 1, held.state === 'found' ? held.offset : undefined);
      }
    }
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
    this.producers.advanceTo(this.records.length - values.length);
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

  /** One node, always up to date: resolves at once (unless closed or `signal` aborted). */
  readBarrier(signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    return Promise.resolve();
  }

  /** Consumers parked in waitFor (tests check that cancelled waits leave none behind). */
  waitingReads(): number {
    return this.waiters.size;
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
