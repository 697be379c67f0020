/**
 * ProduceStream: pipelined appends on one stream, responses in request order.
 *
 * Requests that arrive in the same turn of the event loop are appended together, in order, as
 * one group: one `append` (one log write, one fsync, one Raft proposal) for the group instead of
 * one per request, each request still getting its own response with its own first offset and
 * count. A group never exceeds the batch limits a single request has (maxGroupBytes,
 * maxGroupRecords). At most `inflightMax` requests are between "read from the stream" and
 * "response written"; beyond that the stream is paused, so HTTP/2 flow control pushes back on a
 * client faster than the disk.
 *
 * A request of an idempotent producer (producer_id set) is appended on its own, as soon as it is
 * read (the Raft node still batches it with its neighbours into one write): its answer may be a
 * duplicate, and it must not share a group's fate.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { InvalidArgumentError, MAX_OFFSET } from '../errors.js';
import type { ProduceRequest, ProduceResponse } from '../gen/log/v1/log.js';
import type { AppendResult, ProducerRef } from '../replicated-log.js';
import { totalLength } from '../util/bytes.js';

type Call = ServerDuplexStream<ProduceRequest, ProduceResponse>;
type Outcome = { ok: true; first: number; duplicate: boolean } | { ok: false; err: unknown };

export interface ProduceStreamHandlers {
  /** The request's values in order; throws (InvalidArgumentError, ...) for a bad request. */
  values: (req: ProduceRequest) => Buffer[];
  /** Appends values with consecutive offsets; resolves with the first. */
  append: (values: Buffer[]) => Promise<number>;
  /** Appends an idempotent producer's request (ReplicatedLog.appendIdempotent). */
  appendIdempotent: (values: Buffer[], producer: ProducerRef) => Promise<AppendResult>;
  /** Called for each request answered, with the seconds since it was read. */
  answered?: (seconds: number) => void;
}

/** The request's idempotent producer; undefined for a plain produce (empty producer_id). */
export function producerOf(req: ProduceRequest): ProducerRef | undefined {
  if (req.producerId === '') return undefined;
  if (req.sequence > BigInt(MAX_OFFSET)) throw new InvalidArgumentError(`producer sequence ${req.sequence} is above ${MAX_OFFSET}`);
  return { id: req.producerId, sequence: Number(req.sequence) };
}

export interface ProduceStreamLimits {
  /** Requests read but not yet answered, per stream. */
  inflightMax: number;
  /** Value bytes of one group (a single request may hold up to this much too). */
  maxGroupBytes: number;
  /** Records of one group, unless a single request holds more. */
  maxGroupRecords: number;
}

/** Requests appended together; `counts` are the records of each request, in order. */
interface Group {
  values: Buffer[];
  counts: number[];
  /** When each request was read (performance.now()). */
  readAt: number[];
  bytes: number;
  outcome?: Promise<Outcome>;
}

/**
 * Feeds requests to `append` in groups as they arrive and writes the responses in order.
 * Resolves when the client half-closes, or `finish` aborts (server shutdown: requests read so far
 * are answered, later ones are not read), and every response is written; rejects with the first
 * failure (the caller turns it into the stream's status; no response follows it).
 */
export function pipeProduces(call: Call, handlers: ProduceStreamHandlers, limits: ProduceStreamLimits, finish?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const groups: Group[] = [];
    let open: Group | undefined;
    let flushTimer: NodeJS.Immediate | undefined;
    let inflight = 0;
    let ended = false;
    let paused = false;
    let pumping = false;
    let stopped = false;

    const stop = (err?: unknown): void => {
      if (stopped) return;
      stopped = true;
      call.off('data', onData);
      if (flushTimer) clearImmediate(flushTimer);
      if (err === undefined) resolve();
      else reject(err instanceof Error ? err : new Error('produce stream failed', { cause: err }));
    };
    const flush = (): void => {
      if (flushTimer) clearImmediate(flushTimer);
      flushTimer = undefined;
      const g = open;
      open = undefined;
      if (!g || stopped) return;
      g.outcome = handlers.append(g.values).then(
        (first): Outcome => ({ ok: true, first, duplicate: false }),
        (err: unknown): Outcome => ({ ok: false, err }),
      );
      kick();
    };
    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      for (let g = groups[0]; g?.outcome && !stopped; g = groups[0]) {
        const outcome = await g.outcome;
        if (!outcome.ok) {
          stop(outcome.err);
          return;
        }
        groups.shift();
        const written = writeResponses(call, outcome.first, g.counts, outcome.duplicate);
        if (handlers.answered) {
          const now = performance.now();
          for (const t of g.readAt) handlers.answered((now - t) / 1000);
        }
        if (!written) await drained(call);
        inflight -= g.counts.length;
        if (paused && inflight <= limits.inflightMax / 2) {
          paused = false;
          call.resume();
        }
      }
      pumping = false;
      if (ended && groups.length === 0) stop();
    };
    const kick = (): void => {
      pump().catch(stop);
    };
    const onData = (req: ProduceRequest): void => {
      let values: Buffer[];
      let producer: ProducerRef | undefined;
      try {
        values = handlers.values(req);
        producer = producerOf(req);
      } catch (err) {
        flush();
        groups.push({ values: [], counts: [1], readAt: [performance.now()], bytes: 0, outcome: Promise.resolve({ ok: false, err }) });
        inflight++;
        kick();
        return;
      }
      if (producer) {
        flush();
        const outcome = handlers.appendIdempotent(values, producer).then(
          (r): Outcome => ({ ok: true, first: r.offset, duplicate: r.duplicate }),
          (err: unknown): Outcome => ({ ok: false, err }),
        );
        groups.push({ values, counts: [values.length], readAt: [performance.now()], bytes: 0, outcome });
        admitted();
        kick();
        return;
      }
      const bytes = totalLength(values);
      if (open && (open.bytes + bytes > limits.maxGroupBytes || open.values.length + values.length > limits.maxGroupRecords)) flush();
      if (!open) {
        open = { values: [], counts: [], readAt: [], bytes: 0 };
        groups.push(open);
        flushTimer = setImmediate(flush);
      }
      for (const v of values) open.values.push(v);
      open.counts.push(values.length);
      open.readAt.push(performance.now());
      open.bytes += bytes;
      admitted();
    };
    const admitted = (): void => {
      inflight++;
      if (inflight >= limits.inflightMax && !paused) {
        paused = true;
        call.pause();
      }
    };
    const end = (): void => {
      if (ended) return;
      ended = true;
      call.off('data', onData);
      flush();
      kick();
    };
    call.on('data', onData);
    call.once('end', end);
    if (finish?.aborted) end();
    else finish?.addEventListener('abort', end, { once: true });
    call.once('cancelled', () => stop());
    call.once('error', (err: unknown) => stop(err));
  });
}

/** Writes one response per request of a group; false when the call's buffer is full. */
function writeResponses(call: Call, first: number, counts: readonly number[], duplicate: boolean): boolean {
  let offset = first;
  let writable = true;
  for (const count of counts) {
    writable = call.write({ offset: BigInt(offset), count, duplicate });
    offset += count;
  }
  return writable;
}

function drained(call: Call): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.once('cancelled', done);
  });
}
