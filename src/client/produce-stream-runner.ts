/**
 * ProduceStream over the cluster: a long-lived pipelined stream to the leader that reconnects to
 * the (new) leader when it fails. Batches sent on a failed stream and not answered have an
 * unknown outcome: they are reported as such, or resent when the caller opted in to
 * at-least-once (`retryUnknown`). Batches that provably never left are always resent.
 *
 * Idempotent (the default of ReplogClient): the stream is one producer; each batch carries its
 * sequences, so unanswered batches are always resent with the same ones and the leader appends
 * each exactly once. A sequence refused as a gap or an unknown producer means that batch and the
 * ones after it were not appended: they are numbered again under a fresh producer id and resent.
 */
import { randomUUID } from 'node:crypto';
import { OutcomeUnknownError, RetriesExhaustedError } from '../errors.js';
import { splitBatches, type OutgoingBatch, type ProducePipeline } from './produce-pipeline.js';
import { classifyProduceFailure, producerProblem } from './rpc-status.js';

/** One result of ReplogClient.produceStream, in the order the values were given. */
export type ProduceStreamResult =
  | { type: 'ok'; offset: number; count: number }
  | { type: 'unknown'; count: number; values: Buffer[]; error: OutcomeUnknownError };

export interface ProduceStreamOptions {
  /** Records per request (1 = proglog form, one record per message). */
  batchRecords?: number;
  batchBytes?: number;
  /** Requests sent but not yet answered. */
  inflightMax?: number;
  /** Resend batches whose outcome is unknown (at-least-once: they may be appended twice). */
  retryUnknown?: boolean;
  /** Send as an idempotent producer: resends never duplicate (ReplogClient's default). */
  idempotent?: boolean;
}

export interface StreamRouting {
  /** A pipeline to the leader; retries with backoff and throws when the budget is spent. */
  open(singleRecord: boolean): Promise<ProducePipeline>;
  /** The pipeline to `addr` failed with `err`: learn the leader from it, or refresh. */
  failed(addr: string, err: unknown): Promise<void>;
  /** Consecutive stream failures without an answer before giving up. */
  failuresMax: number;
}

export class ProduceStreamRunner {
  private pipe: ProducePipeline | undefined;
  /** Batches waiting to be sent, resent ones first; at most inflightMax + 1. */
  private readonly queue: OutgoingBatch[] = [];
  /** This stream's idempotent producer: its id and the next sequence. */
  private producerId = randomUUID();
  private nextSequence = 0;
  private failuresInARow = 0;
  private firstFailureMs = 0;
  private readonly batchRecords: number;
  private readonly batchBytes: number;
  private readonly inflightMax: number;

  constructor(
    private readonly routing: StreamRouting,
    private readonly opts: ProduceStreamOptions,
  ) {
    this.batchRecords = Math.max(1, opts.batchRecords ?? 1000);
    this.batchBytes = opts.batchBytes ?? 4 * 1024 * 1024;
    this.inflightMax = Math.max(1, opts.inflightMax ?? 16);
  }

  async *run(groups: AsyncIterable<readonly Buffer[]> | Iterable<readonly Buffer[]>): AsyncGenerator<ProduceStreamResult> {
    try {
      for await (const group of groups) {
        for (const values of splitBatches(group, this.batchRecords, this.batchBytes)) {
          this.queue.push(this.stamp({ values }));
          yield* this.sendQueued();
        }
      }
      yield* this.drain();
    } finally {
      this.pipe?.cancel();
      this.pipe = undefined;
    }
  }

  /** Sends the queue, taking answers whenever inflightMax requests are unanswered. */
  private async *sendQueued(): AsyncGenerator<ProduceStreamResult> {
    for (let batch = this.queue[0]; batch !== undefined; batch = this.queue[0]) {
      const pipe = (this.pipe ??= await this.routing.open(this.batchRecords === 1));
      if (!(await pipe.send(batch))) {
        yield* this.recover(pipe, pipe.failureReason());
        continue;
      }
      this.queue.shift();
      while (this.pipe === pipe && pipe.inflight() >= this.inflightMax) yield* this.takeOne(pipe);
    }
  }

  /** Every answer (after the input ended), resending what a failure hands back. */
  private async *drain(): AsyncGenerator<ProduceStreamResult> {
    for (;;) {
      if (this.queue.length > 0) yield* this.sendQueued();
      const pipe = this.pipe;
      if (pipe === undefined) return;
      if (pipe.inflight() === 0) {
        pipe.end();
        return;
      }
      yield* this.takeOne(pipe);
    }
  }

  private async *takeOne(pipe: ProducePipeline): AsyncGenerator<ProduceStreamResult> {
    try {
      const answered = await pipe.next();
      this.failuresInARow = 0;
      yield { type: 'ok', offset: answered.offset, count: answered.count };
    } catch (err) {
      yield* this.recover(pipe, err);
    }
  }

  /** The pipeline failed: requeue what provably was not sent, report (or resend) the rest. */
  private async *recover(pipe: ProducePipeline, err: unknown): AsyncGenerator<ProduceStreamResult> {
    pipe.cancel();
    if (this.pipe === pipe) this.pipe = undefined;
    const problem = this.opts.idempotent === true ? producerProblem(err) : undefined;
    const kind = problem === 'gap' || problem === 'unknown-producer' ? 'renumber' : classifyProduceFailure(err);
    if (kind === 'final') throw err;
    if (this.failuresInARow++ === 0) this.firstFailureMs = Date.now();
    if (this.failuresInARow > this.routing.failuresMax) {
      throw new RetriesExhaustedError('produceStream', this.failuresInARow, Date.now() - this.firstFailureMs, err);
    }
    const lost = pipe.unanswered();
    if (kind === 'renumber') {
      this.queue.unshift(...lost);
      this.renumber();
      return;
    }
    await this.routing.failed(pipe.addr, err);
    if (kind === 'not-sent' || this.opts.retryUnknown === true || this.opts.idempotent === true) {
      this.queue.unshift(...lost);
      return;
    }
    for (const { values } of lost) {
      const error = new OutcomeUnknownError(pipe.addr, values.length, err);
      yield { type: 'unknown', count: values.length, values, error };
    }
  }

  /** The batch with the next sequences of this stream's producer (when idempotent). */
  private stamp(batch: OutgoingBatch): OutgoingBatch {
    if (this.opts.idempotent !== true) return batch;
    const stamped = { values: batch.values, producer: { id: this.producerId, sequence: this.nextSequence } };
    this.nextSequence += batch.values.length;
    return stamped;
  }

  /** Every queued batch (none of them appended) numbered again under a fresh producer id. */
  private renumber(): void {
    this.producerId = randomUUID();
    this.nextSequence = 0;
    for (let i = 0; i < this.queue.length; i++) {
      const batch = this.queue[i];
      if (batch) this.queue[i] = this.stamp({ values: batch.values });
    }
  }
}
