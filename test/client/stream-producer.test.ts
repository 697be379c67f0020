import { EventEmitter } from 'node:events';
import { Metadata, status as Status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UnavailableError } from '../../src/errors.js';
import type { ProduceRequest, ProduceResponse } from '../../src/gen/log/v1/log.js';
import { classifyProduceFailure, REQUEST_FAILED_METADATA_KEY } from '../../src/client/rpc-status.js';
import { IDLE_END_MS, StreamProducer } from '../../src/client/stream-producer.js';

/** A ProduceStream's client side: records what is written; the test plays the server. */
class FakeStream extends EventEmitter {
  readonly written: ProduceRequest[] = [];
  cancelled = false;
  ended = false;
  write(req: ProduceRequest): boolean {
    this.written.push(req);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  cancel(): void {
    this.cancelled = true;
    this.fail(Status.CANCELLED, 'Cancelled on client');
  }
  answer(offset: number, count = 1): void {
    const res: ProduceResponse = { offset: BigInt(offset), count, duplicate: false };
    this.emit('data', res);
  }
  /**
   * grpc-js's order for a non-OK status: 'error', then 'status'. `requestFailure`: the server's
   * mark that the status answers the oldest unanswered request.
   */
  fail(code: Status, details: string, requestFailure = false): void {
    const metadata = new Metadata();
    if (requestFailure) metadata.set(REQUEST_FAILED_METADATA_KEY, '1');
    const err: ServiceError = Object.assign(new Error(`${code} ${Status[code]}: ${details}`), { code, details, metadata });
    this.emit('error', err);
    this.emit('status', { code, details, metadata });
  }
  /** The server ended the stream with OK. */
  finish(): void {
    this.emit('status', { code: Status.OK, details: '', metadata: new Metadata() });
  }
}

function producer(timeoutMs = 30_000): { p: StreamProducer; streams: FakeStream[] } {
  const streams: FakeStream[] = [];
  const open = (): ClientDuplexStream<ProduceRequest, ProduceResponse> => {
    const s = new FakeStream();
    streams.push(s);
    return s as unknown as ClientDuplexStream<ProduceRequest, ProduceResponse>;
  };
  return { p: new StreamProducer(open, 'n1:1', timeoutMs), streams };
}

/** Settles a promise into a value or its error, so several can be awaited after the fact. */
function outcome(p: Promise<number>): Promise<number | Error> {
  return p.then(
    (v) => v,
    (e: unknown) => e as Error,
  );
}

const v = (s: string): Buffer[] => [Buffer.from(s)];

describe('StreamProducer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends every request on one stream and gives each caller its own answer, in order', async () => {
    const { p, streams } = producer();
    const a = p.produce(v('a'));
    const b = p.produce([Buffer.from('b'), Buffer.from('c')], { id: 'p1', sequence: 7 });
    expect(streams).toHaveLength(1);
    const [s] = streams as [FakeStream];
    expect(s.written.map((r) => [r.records.map((x) => x.value.toString()), r.producerId, r.sequence])).toEqual([
      [['a'], '', 0n],
      [['b', 'c'], 'p1', 7n],
    ]);
    expect(p.inflight()).toBe(2);
    s.answer(10);
    s.answer(11, 2);
    expect([await a, await b]).toEqual([10, 11]);
    expect(p.inflight()).toBe(0);
  });

  it('a refusal answers the oldest request; the later ones have an unknown outcome; the next produce opens a new stream', async () => {
    const { p, streams } = producer();
    const first = p.produce(v('a'));
    const refused = outcome(p.produce(v('b')));
    const later = outcome(p.produce(v('c')));
    streams[0]?.answer(0);
    streams[0]?.fail(Status.INVALID_ARGUMENT, 'record too large', true);
    expect(await first).toBe(0);
    const [r, l] = [await refused, await later];
    expect(r).toMatchObject({ code: Status.INVALID_ARGUMENT });
    expect(classifyProduceFailure(r)).toBe('final');
    expect(l).toBeInstanceOf(UnavailableError);
    expect(classifyProduceFailure(l)).toBe('unknown');
    const next = p.produce(v('d'));
    expect(streams).toHaveLength(2);
    streams[1]?.answer(1);
    expect(await next).toBe(1);
  });

  it('a status without the server\'s mark failed the whole stream: every unanswered request is unknown', async () => {
    const { p, streams } = producer();
    const all = [outcome(p.produce(v('a'))), outcome(p.produce(v('b')))];
    // e.g. grpc-js refusing an oversized message: the oldest request may well have been appended.
    streams[0]?.fail(Status.RESOURCE_EXHAUSTED, 'Received message larger than max');
    for (const o of await Promise.all(all)) {
      expect(o).toBeInstanceOf(UnavailableError);
      expect(classifyProduceFailure(o)).toBe('unknown');
    }
  });

  it('a stream that never connected passes its not-sent error to every request', async () => {
    const { p, streams } = producer();
    const all = [outcome(p.produce(v('a'))), outcome(p.produce(v('b')))];
    streams[0]?.fail(Status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED');
    for (const o of await Promise.all(all)) expect(classifyProduceFailure(o)).toBe('not-sent');
  });

  it('gives the stream up when an answer takes longer than the timeout: unknown outcome, stream cancelled', async () => {
    vi.useFakeTimers();
    const { p, streams } = producer(1_000);
    const a = outcome(p.produce(v('a')));
    await vi.advanceTimersByTimeAsync(600);
    const b = outcome(p.produce(v('b')));
    await vi.advanceTimersByTimeAsync(300);
    expect(streams[0]?.cancelled).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(streams[0]?.cancelled).toBe(true);
    for (const o of [await a, await b]) {
      expect(o).toBeInstanceOf(UnavailableError);
      expect((o as Error).message).toMatch(/within 1000 ms/);
    }
    const c = p.produce(v('c'));
    streams[1]?.answer(5);
    expect(await c).toBe(5);
  });

  it('the timeout restarts for each oldest request: a steady stream of answers never trips it', async () => {
    vi.useFakeTimers();
    const { p, streams } = producer(1_000);
    for (let i = 0; i < 10; i++) {
      const got = p.produce(v(`r${i}`));
      await vi.advanceTimersByTimeAsync(700);
      streams[0]?.answer(i);
      expect(await got).toBe(i);
    }
    expect(streams).toHaveLength(1);
    expect(streams[0]?.cancelled).toBe(false);
  });

  it('close() half-closes: what is in flight still gets its answer, later produces are refused', async () => {
    const { p, streams } = producer();
    const a = p.produce(v('a'));
    const b = outcome(p.produce(v('b')));
    p.close();
    const [s] = streams as [FakeStream];
    expect([s.ended, s.cancelled]).toEqual([true, false]);
    await expect(p.produce(v('c'))).rejects.toBeInstanceOf(UnavailableError);
    s.answer(7);
    expect(await a).toBe(7);
    // The server ends the stream without answering b: its outcome is unknown.
    s.finish();
    expect(classifyProduceFailure(await b)).toBe('unknown');
  });

  it('half-closes a stream idle for IDLE_END_MS (it would keep the process alive); the next produce opens another', async () => {
    vi.useFakeTimers();
    const { p, streams } = producer();
    const a = p.produce(v('a'));
    streams[0]?.answer(0);
    expect(await a).toBe(0);
    await vi.advanceTimersByTimeAsync(IDLE_END_MS / 2);
    const b = p.produce(v('b'));
    streams[0]?.answer(1);
    expect(await b).toBe(1);
    await vi.advanceTimersByTimeAsync(IDLE_END_MS / 2);
    expect(streams[0]?.ended).toBe(false);
    await vi.advanceTimersByTimeAsync(IDLE_END_MS);
    expect(streams[0]?.ended).toBe(true);
    streams[0]?.finish();
    const c = p.produce(v('c'));
    expect(streams).toHaveLength(2);
    streams[1]?.answer(2);
    expect(await c).toBe(2);
  });
});
