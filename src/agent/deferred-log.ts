/**
 * The API's ReplicatedLog before the node has joined a cluster: every call is UNAVAILABLE
 * ("joining") until the Raft-replicated log is attached. Lets the gRPC server (and its health
 * service) start first, so operators can see a node that waits to be added.
 */
import { UnavailableError } from '../errors.js';
import type { AppendOptions, AppendResult, ConsumedRecord, ProducerRef, ReadBatchLimits, ReplicatedLog, ServerInfo } from '../replicated-log.js';

export class DeferredReplicatedLog implements ReplicatedLog {
  private target: ReplicatedLog | undefined;

  constructor(private readonly waitingReason: () => string) {}

  attach(log: ReplicatedLog): void {
    this.target = log;
  }

  /** Runs `fn` on the attached log, or rejects with UNAVAILABLE while there is none. */
  private call<T>(fn: (log: ReplicatedLog) => Promise<T>): Promise<T> {
    if (!this.target) return Promise.reject(new UnavailableError(`this node is not part of a cluster yet: ${this.waitingReason()}`));
    return fn(this.target);
  }

  append(values: readonly Buffer[], opts?: AppendOptions): Promise<number> {
    return this.call((l) => l.append(values, opts));
  }

  appendIdempotent(values: readonly Buffer[], producer: ProducerRef, opts?: AppendOptions): Promise<AppendResult> {
    return this.call((l) => l.appendIdempotent(values, producer, opts));
  }

  read(offset: number): Promise<ConsumedRecord> {
    return this.call((l) => l.read(offset));
  }

  readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]> {
    return this.call((l) => l.readBatch(from, limits));
  }

  waitFor(offset: number, signal?: AbortSignal): Promise<void> {
    return this.call((l) => l.waitFor(offset, signal));
  }

  readBarrier(signal?: AbortSignal): Promise<void> {
    return this.call((l) => l.readBarrier(signal));
  }

  lowestOffset(): number {
    return this.target?.lowestOffset() ?? 0;
  }

  highestOffset(): number {
    return this.target?.highestOffset() ?? -1;
  }

  servers(): Promise<ServerInfo[]> {
    return this.target?.servers() ?? Promise.resolve([]);
  }

  close(): Promise<void> {
    return this.target?.close() ?? Promise.resolve();
  }
}
