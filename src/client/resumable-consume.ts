/**
 * ConsumeStream over the cluster: reads from one node and, when that node fails or ends the
 * stream early, resumes at the next expected offset on another. The iterator yields every
 * offset once, in order: records below the next expected offset are skipped, a jump past it
 * counts as a failure of that node (never a gap). A stream the server reset because this reader
 * took nothing for a while (RESOURCE_EXHAUSTED after records were delivered: the server frees the
 * memory of readers that stall) is resumed too, on the same node, without counting against it.
 */
import { UnavailableError } from '../errors.js';
import type { ConsumedRecord } from '../replicated-log.js';
import type { LogApiClient } from './log-client.js';
import type { RetryBudget } from './retry-budget.js';
import { isReadRetryable, isResourceExhausted } from './rpc-status.js';

export interface ReadRouting {
  /** The node to read from next (a follower when there is one). */
  readTarget(): Promise<{ addr: string; node: LogApiClient }>;
  /** `addr` failed: avoid it for a while and refresh the member list. */
  nodeFailed(addr: string, err: unknown): Promise<void>;
  budget(operation: string): RetryBudget;
}

export interface ResumableConsumeOptions {
  /** Stop at the highest offset of the first node that answers instead of following the tail. */
  untilHigh?: boolean;
  /** Records per response (0 = one record per message). */
  maxBatchRecords?: number;
  /** Each node confirms with the leader (ReadIndex) before its first record. */
  linearizable?: boolean;
  signal?: AbortSignal;
}

export async function* resumableConsume(routing: ReadRouting, offset: number, opts: ResumableConsumeOptions): AsyncGenerator<ConsumedRecord> {
  for await (const batch of resumableConsumeBatches(routing, offset, opts)) yield* batch;
}

/** `resumableConsume` a batch at a time (each never empty, offsets consecutive across batches). */
export async function* resumableConsumeBatches(routing: ReadRouting, offset: number, opts: ResumableConsumeOptions): AsyncGenerator<ConsumedRecord[]> {
  let next = offset;
  let until: number | undefined;
  let budget = routing.budget('consumeStream');
  while (!opts.signal?.aborted) {
    if (until !== undefined && next > until) return;
    if (!budget.next()) throw budget.exhausted();
    let addr = 'no node';
    let failure: unknown;
    const startedAt = next;
    try {
      const target = await routing.readTarget();
      addr = target.addr;
      const batches = target.node.consumeBatches(next, {
        untilHigh: opts.untilHigh === true && until === undefined,
        untilOffset: until,
        onHighOffset: (high) => (until = high),
        maxBatchRecords: opts.maxBatchRecords,
        linearizable: opts.linearizable,
        signal: opts.signal,
      });
      for await (const batch of batches) {
        const accepted: ConsumedRecord[] = [];
        let jump: UnavailableError | undefined;
        for (const r of batch) {
          if (r.offset < next) continue;
          if (r.offset > next) {
            jump = new UnavailableError(`${addr} jumped from offset ${next} to ${r.offset}`);
            break;
          }
          accepted.push(r);
          next = r.offset + 1;
        }
        if (accepted.length > 0) yield accepted;
        if (jump) throw jump;
      }
      if (opts.signal?.aborted || (until !== undefined && next > until)) return;
      failure = new UnavailableError(`${addr} ended the stream at offset ${next}`);
    } catch (err) {
      if (opts.signal?.aborted) return;
      // A slow-reader reset after progress: resume at once, the node is fine.
      if (isResourceExhausted(err) && next > startedAt) {
        budget = routing.budget('consumeStream');
        continue;
      }
      if (!isReadRetryable(err)) throw err;
      failure = err;
    }
    if (next > startedAt) budget = routing.budget('consumeStream');
    if (addr !== 'no node') await routing.nodeFailed(addr, failure);
    await budget.failed(failure);
  }
}
