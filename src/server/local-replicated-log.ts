/**
 * ReplicatedLog over the local segmented log: a one-node cluster. Every record is committed once
 * it is durable on this node's disk (under the log's sync policy). The Raft-replicated log
 * replaces it behind the same interface.
 */
import type { Log } from '../log/index.js';
import type { AppendOptions, ConsumedRecord, ReadBatchLimits, ReplicatedLog, ServerInfo } from '../replicated-log.js';
import type { LogStats } from './metrics.js';

export class LocalReplicatedLog implements ReplicatedLog {
  constructor(
    private readonly log: Log,
    private readonly self: ServerInfo,
  ) {}

  /** One appendBatch: one write and (sync always) one fsync, shared with concurrent appends. */
  append(values: readonly Buffer[], _opts?: AppendOptions): Promise<number> {
    return this.log.appendBatch(values.map((value) => ({ value })));
  }

  async read(offset: number): Promise<ConsumedRecord> {
    const r = await this.log.read(offset);
    return { offset: r.offset, value: r.value, term: r.term };
  }

  async readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]> {
    const records = await this.log.readRange(from, limits.maxRecords, limits.maxBytes);
    return records.map((r) => ({ offset: r.offset, value: r.value, term: r.term }));
  }

  waitFor(offset: number, signal?: AbortSignal): Promise<void> {
    return this.log.waitFor(offset, signal);
  }

  lowestOffset(): number {
    return this.log.lowestOffset();
  }

  highestOffset(): number {
    return this.log.highestOffset();
  }

  servers(): Promise<ServerInfo[]> {
    return Promise.resolve([this.self]);
  }

  stats(): LogStats {
    return { endOffset: this.log.nextOffset(), sizeBytes: this.log.sizeBytes(), segmentCount: this.log.segmentCount() };
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
