/**
 * One ProduceStream call, pipelined: batches are written as they come, answers arrive in request
 * order and are matched to their batches. When the stream fails, the batches sent and not
 * answered are handed back: their outcome is unknown (they may have been appended).
 */
import { status as Status, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import { UnavailableError, asError } from '../errors.js';
import type { ProduceRequest, ProduceResponse, Record as WireRecord } from '../gen/log/v1/log.js';
import type { ProducerRef } from '../replicated-log.js';

/** A request of the stream: values, and the idempotent producer's sequences when there is one. */
export interface OutgoingBatch {
  values: Buffer[];
  producer?: ProducerRef;
}

export interface AnsweredBatch {
  values: Buffer[];
  offset: number;
  count: number;
}

type Stream = ClientDuplexStream<ProduceRequest, ProduceResponse>;

export class ProducePipeline {
  /** Batches written and not yet taken by next(), oldest first. */
  private readonly sent: OutgoingBatch[] = [];
  private readonly answers: ProduceResponse[] = [];
  private waiter: { resolve: (b: AnsweredBatch) => void; reject: (e: unknown) => void } | undefined;
  private failure: unknown;
  private ended = false;

  constructor(
    readonly addr: string,
    private readonly stream: Stream,
    /** One record per message (proglog's form) instead of the batch field. */
    private readonly singleRecord: boolean,
  ) {
    stream.on('data', (res: ProduceResponse) => {
      this.answers.push(res);
      this.deliver();
    });
    stream.on('error', (err: unknown) => this.fail(err));
    stream.on('status', (st: StatusObject) => {
      if (st.code === Status.OK) this.fail(new UnavailableError(`${addr} ended the stream before answering every request`));
    });
  }

  /** Batches sent and not yet taken. */
  inflight(): number {
    return this.sent.length;
  }

  failed(): boolean {
    return this.failure !== undefined;
  }

  failureReason(): unknown {
    return this.failure;
  }

  /** Writes a batch (false, nothing sent, when the stream has failed); waits while HTTP/2 pushes back. */
  async send(batch: OutgoingBatch): Promise<boolean> {
    if (this.failure !== undefined || this.ended) return false;
    this.sent.push(batch);
    const { values, producer } = batch;
    const req: ProduceRequest = this.singleRecord
      ? { ...batchRequest([], producer), record: toWire(values[0] ?? Buffer.alloc(0)) }
      : batchRequest(values, producer);
    if (!this.stream.write(req)) await this.drained();
    return true;
  }

  /** The oldest sent batch with its answer; rejects with the stream's failure. */
  next(): Promise<AnsweredBatch> {
    const ready = this.take();
    if (ready) return Promise.resolve(ready);
    if (this.failure !== undefined) return Promise.reject(asError(this.failure));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** After a failure: the batches sent and not answered, oldest first (outcome unknown). */
  unanswered(): OutgoingBatch[] {
    return this.sent.splice(0, this.sent.length);
  }

  /** Half-closes the stream (every batch answered). */
  end(): void {
    if (!this.ended) this.stream.end();
    this.ended = true;
  }

  cancel(): void {
    this.ended = true;
    this.stream.cancel();
  }

  private take(): AnsweredBatch | undefined {
    const res = this.answers[0];
    const batch = this.sent[0];
    if (res === undefined || batch === undefined) return undefined;
    this.answers.shift();
    this.sent.shift();
    return { values: batch.values, offset: Number(res.offset), count: Math.max(1, res.count) };
  }

  private deliver(): void {
    if (!this.waiter) return;
    const ready = this.take();
    if (!ready) return;
    const w = this.waiter;
    this.waiter = undefined;
    w.resolve(ready);
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(asError(this.failure));
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
      this.stream.on('close', done);
    });
  }
}

/** A value as a record to produce (the server assigns offset and term). */
export function toWire(value: Buffer): WireRecord {
  return { value, offset: 0n, term: 0n, type: 0 };
}

/** A ProduceRequest of `values` in the batch field; with `producer`, an idempotent producer's request. */
export function batchRequest(values: readonly Buffer[], producer?: ProducerRef): ProduceRequest {
  return { record: undefined, records: values.map(toWire), producerId: producer?.id ?? '', sequence: BigInt(producer?.sequence ?? 0) };
}

/** Splits values into batches of at most `maxRecords` records and about `maxBytes` bytes. */
export function* splitBatches(values: readonly Buffer[], maxRecords: number, maxBytes: number): Generator<Buffer[]> {
  let batch: Buffer[] = [];
  let bytes = 0;
  for (const v of values) {
    if (batch.length > 0 && (batch.length >= maxRecords || bytes + v.length > maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(v);
    bytes += v.length;
  }
  if (batch.length > 0) yield batch;
}
