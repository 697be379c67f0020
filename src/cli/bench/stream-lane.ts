/**
 * One ProduceStream of the client library (ReplogClient.produceStream) used as a request/answer
 * lane: send() hands it one batch and resolves when the batch is acknowledged. A lane holds at
 * most one batch in flight, so the stream's runner never waits for input while an answer is due.
 * Several lanes give several batches in flight.
 */
import { ClosedError, asError, assert } from '../../errors.js';
import type { ProduceStreamResult, ReplogClient } from '../../client/replog-client.js';

interface Pending {
  values: Buffer[];
  answered: number;
  offset: number;
  resolve: (offset: number) => void;
  reject: (err: unknown) => void;
}

export class StreamLane {
  private pending: Pending | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private failure: unknown;
  private readonly driving: Promise<void>;

  constructor(client: ReplogClient, maxBatchRecords: number) {
    const results = client.produceStream(this.groups(), { batchRecords: maxBatchRecords, batchBytes: 64 * 1024 * 1024, inflightMax: 1 });
    this.driving = this.drive(results);
  }

  /** True when no batch is in flight on this lane. */
  idle(): boolean {
    return this.pending === undefined && this.failure === undefined && !this.closed;
  }

  send(values: Buffer[]): Promise<number> {
    if (this.failure !== undefined) return Promise.reject(asError(this.failure));
    if (this.closed) return Promise.reject(new ClosedError('stream lane'));
    assert(this.pending === undefined, 'a stream lane carries one batch at a time');
    return new Promise((resolve, reject) => {
      this.pending = { values, answered: 0, offset: -1, resolve, reject };
      this.wake?.();
    });
  }

  /** Ends the stream once the batch in flight (if any) is answered. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.driving;
  }

  private async *groups(): AsyncGenerator<Buffer[]> {
    for (;;) {
      while (this.pending === undefined && !this.closed) await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
      const p = this.pending;
      if (p === undefined) return;
      yield p.values;
      // The runner asks for the next group only after every answer of this one was yielded.
    }
  }

  private async drive(results: AsyncGenerator<ProduceStreamResult>): Promise<void> {
    try {
      for await (const r of results) {
        const p = this.pending;
        if (p === undefined) continue;
        if (r.type === 'unknown') {
          this.settle(p, r.error);
          continue;
        }
        if (p.offset < 0) p.offset = r.offset;
        p.answered += r.count;
        if (p.answered >= p.values.length) this.settle(p, undefined);
      }
    } catch (err) {
      this.failure = err;
      if (this.pending) this.settle(this.pending, err);
    }
  }

  private settle(p: Pending, err: unknown): void {
    this.pending = undefined;
    if (err === undefined) p.resolve(p.offset);
    else p.reject(err);
  }
}
