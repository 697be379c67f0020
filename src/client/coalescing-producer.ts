/**
 * Coalesces single-record produces into batch requests, the way a Kafka producer with linger 0
 * does: records wait while `maxRequestsInflight` requests are outstanding, and the next free
 * request carries everything waiting (up to `maxBatchRecords` / `maxBatchBytes`). At 1 record in
 * flight every request carries one record; at 256 the batches form by themselves, and a gRPC call
 * (tens to hundreds of microseconds of CPU on each side) is paid per batch instead of per record.
 * Sending is deferred to the next macrotask (setImmediate), so records produced in the same tick
 * (e.g. by every caller whose record was just acknowledged) share one request instead of the first
 * going alone. Records keep their order: a batch takes the oldest waiting records.
 */
import Denque from 'denque';
import { UnavailableError } from '../errors.js';

/** Sends one batch request; resolves with the offset of its first record once acknowledged. */
export type SendBatch = (values: Buffer[]) => Promise<number>;

export interface CoalescingOptions {
  /** Requests outstanding at once; records wait for a free one. */
  maxRequestsInflight: number;
  maxBatchRecords: number;
  /** Value bytes per request (at least one record per request, whatever its size). */
  maxBatchBytes: number;
  /** Value bytes waiting for a request; beyond it produce() refuses (UnavailableError). */
  maxQueuedBytes: number;
}

export const defaultCoalescingOptions: CoalescingOptions = {
  maxRequestsInflight: 4,
  maxBatchRecords: 1000,
  maxBatchBytes: 4 * 1024 * 1024,
  maxQueuedBytes: 64 * 1024 * 1024,
};

interface Waiting {
  value: Buffer;
  resolve: (offset: number) => void;
  reject: (err: unknown) => void;
}

export class CoalescingProducer {
  /** A taken record leaves at once: the queue must not keep sent values alive. */
  private readonly queue = new Denque<Waiting>();
  private queuedBytes = 0;
  private requestsInflight = 0;
  private pumpScheduled = false;
  private lowestOffset = Number.POSITIVE_INFINITY;
  /** Requests sent so far (for reporting the mean batch size). */
  requests = 0;

  constructor(
    private readonly send: SendBatch,
    private readonly opts: CoalescingOptions,
  ) {}

  /** Resolves with the record's offset once it is acknowledged; rejects with its batch's error. */
  produce(value: Buffer): Promise<number> {
    if (this.queuedBytes + value.length > this.opts.maxQueuedBytes && this.queuedBytes > 0) {
      return Promise.reject(new UnavailableError(`the client's produce buffer is full (${this.opts.maxQueuedBytes} bytes waiting); retry once earlier produces complete`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ value, resolve, reject });
      this.queuedBytes += value.length;
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
    while (this.requestsInflight < this.opts.maxRequestsInflight && !this.queue.isEmpty()) {
      const batch = this.takeBatch();
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

  /** The oldest waiting records, within the batch limits (at least one). */
  private takeBatch(): Waiting[] {
    const batch: Waiting[] = [];
    let bytes = 0;
    for (let w = this.queue.peekFront(); w !== undefined && batch.length < this.opts.maxBatchRecords; w = this.queue.peekFront()) {
      if (batch.length > 0 && bytes + w.value.length > this.opts.maxBatchBytes) break;
      batch.push(w);
      bytes += w.value.length;
      this.queue.shift();
    }
    this.queuedBytes -= bytes;
    return batch;
  }

  private done(): void {
    this.requestsInflight--;
    this.schedulePump();
  }
}
