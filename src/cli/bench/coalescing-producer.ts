/**
 * Coalesces single-record produces into batch requests, the way a Kafka producer with
 * linger 0 does: records wait while `maxRequestsInflight` requests are outstanding, and the
 * next free request carries everything waiting (up to `maxBatchRecords`). At 1 record in flight
 * every request carries one record; at 256 the batches form by themselves. Sending is deferred
 * to the next macrotask (setImmediate), so records produced in the same tick (e.g. by every
 * producer whose record was just acknowledged) share one request instead of the first going
 * alone.
 */
import { assert } from '../../errors.js';

/** Sends one batch request; resolves with the offset of its first record once acknowledged. */
export type SendBatch = (values: Buffer[]) => Promise<number>;

export interface CoalescingOptions {
  maxBatchRecords: number;
  maxRequestsInflight: number;
  /** Records waiting for a request; the caller's own limit (its records in flight) keeps it below. */
  maxQueuedRecords: number;
}

interface Waiting {
  value: Buffer;
  resolve: (offset: number) => void;
  reject: (err: unknown) => void;
}

export class CoalescingProducer {
  private readonly queue: Waiting[] = [];
  private requestsInflight = 0;
  private pumpScheduled = false;
  private lowestOffset = Number.POSITIVE_INFINITY;
  /** Requests sent so far (for reporting the mean batch size). */
  requests = 0;

  constructor(
    private readonly send: SendBatch,
    private readonly opts: CoalescingOptions,
  ) {}

  /** Resolves with the record's offset once it is acknowledged. */
  produce(value: Buffer): Promise<number> {
    assert(this.queue.length < this.opts.maxQueuedRecords, `more than ${this.opts.maxQueuedRecords} records queued`);
    return new Promise((resolve, reject) => {
      this.queue.push({ value, resolve, reject });
      this.schedulePump();
    });
  }

  /** The lowest offset acknowledged so far (Infinity before the first). */
  firstOffset(): number {
    return this.lowestOffset;
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.requestsInflight < this.opts.maxRequestsInflight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatchRecords);
      this.requestsInflight++;
      this.requests++;
      this.send(batch.map((w) => w.value)).then(
        (offset) => {
          this.lowestOffset = Math.min(this.lowestOffset, offset);
          batch.forEach((w, i) => w.resolve(offset + i));
          this.done();
        },
        (err: unknown) => {
          for (const w of batch) w.reject(err);
          this.done();
        },
      );
    }
  }

  private done(): void {
    this.requestsInflight--;
    this.schedulePump();
  }
}
