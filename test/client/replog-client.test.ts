import { connectivityState, credentials } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutcomeUnknownError, RetriesExhaustedError, UnavailableError } from '../../src/errors.js';
import { LogClient } from '../../src/gen/log/v1/log.js';
import { LogApiClient } from '../../src/client/log-client.js';
import { ReplogClient, type ReplogClientOptions } from '../../src/client/replog-client.js';
import type { ConsumedRecord } from '../../src/replicated-log.js';
import { Prng } from '../../src/util/prng.js';
import { FakeCluster } from './fake-cluster.js';
import { until } from '../helpers/wait.js';

const seed = Number(process.env.SEED ?? Date.now() % 2 ** 31);
const prng = new Prng(seed);
let cluster: FakeCluster;
const clients: ReplogClient[] = [];

beforeEach(async (ctx) => {
  ctx.onTestFailed(() => console.error(`client test seed: SEED=${seed}`));
  cluster = await FakeCluster.start(3);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await cluster.close();
});

function client(addrs: string[], opts: Partial<ReplogClientOptions> = {}): ReplogClient {
  const c = new ReplogClient({
    addrs,
    random: () => prng.float(),
    retry: { maxAttempts: 8, retryDeadlineMs: 10_000, baseBackoffMs: 10, maxBackoffMs: 100 },
    connectTimeoutMs: 2_000,
    ...opts,
  });
  clients.push(c);
  return c;
}

const values = (...vs: string[]): Buffer[] => vs.map((v) => Buffer.from(v));

/** Waits until the client has seen its connection to `addr` go (no request races a dead socket). */
async function clientNoticedDown(c: ReplogClient, addr: string): Promise<void> {
  await until(() => c.connectivity(addr) !== connectivityState.READY, `the client to notice ${addr} is down`, 10_000);
}

describe('ReplogClient routing', () => {
  it('discovers the cluster from a follower and sends produces to the leader', async () => {
    const c = client([cluster.addr('n2')]);
    expect(await c.produceBatch(values('a', 'b'))).toBe(0);
    expect(await c.produce('c')).toBe(2);
    expect(cluster.node('n1').log.appends).toBe(2);
    expect(cluster.node('n2').log.refused + cluster.node('n3').log.refused).toBe(0);
    expect(await cluster.contents()).toEqual(['a', 'b', 'c']);
    const servers = await c.servers();
    expect(servers.map((s) => [s.id, s.isLeader])).toEqual([['n1', true], ['n2', false], ['n3', false]]);
    expect(c.leaderAddr()).toBe(cluster.addr('n1'));
  });

  it('produces on a long-lived ProduceStream by default, and with unary calls when asked to or as a plain producer', async () => {
    const unary = vi.spyOn(LogApiClient.prototype, 'produce');
    const onStream = vi.spyOn(LogApiClient.prototype, 'produceOnStream');
    try {
      const c = client([cluster.addr('n1')]);
      expect(await c.produce('a')).toBe(0);
      expect(await c.produceBatch(values('b', 'c'))).toBe(1);
      expect([onStream.mock.calls.length, unary.mock.calls.length]).toEqual([2, 0]);
      const u = client([cluster.addr('n2')], { produceOver: 'unary' });
      expect(await u.produce('d')).toBe(3);
      expect(await u.produceBatch(values('e', 'f'))).toBe(4);
      expect([onStream.mock.calls.length, unary.mock.calls.length]).toEqual([2, 2]);
      // A plain producer cannot resend what a failed stream left unknown: unary calls by default.
      const plain = client([cluster.addr('n3')], { idempotent: false });
      expect(await plain.produce('g')).toBe(6);
      expect([onStream.mock.calls.length, unary.mock.calls.length]).toEqual([2, 3]);
      expect(await cluster.contents()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    } finally {
      unary.mockRestore();
      onStream.mockRestore();
    }
  });

  it('spreads consumes over the followers, never the leader', async () => {
    const c = client([cluster.addr('n1')]);
    await c.produceBatch(values(...Array.from({ length: 10 }, (_, i) => `v${i}`)));
    for (let i = 0; i < 10; i++) expect((await c.consume(i)).value.toString()).toBe(`v${i}`);
    const streamed: number[] = [];
    for await (const r of c.consumeStream(0, { untilHigh: true })) streamed.push(r.offset);
    expect(streamed).toEqual([...Array(10).keys()]);
    expect(cluster.node('n1').log.reads).toBe(0);
    expect(cluster.node('n2').log.reads).toBeGreaterThan(0);
    expect(cluster.node('n3').log.reads).toBeGreaterThan(0);
  });

  it('falls back to the leader for reads when no follower is up', async () => {
    const c = client([cluster.addr('n1')]);
    await c.produce('x');
    await cluster.stop('n2');
    await cluster.stop('n3');
    expect((await c.consume(0)).value.toString()).toBe('x');
    expect(cluster.node('n1').log.reads).toBeGreaterThan(0);
  });

  it('pickChannel gives own stubs the leader for produce and a follower for consume', async () => {
    const c = client([cluster.addr('n3')]);
    const produce = await c.pickChannel('/log.v1.Log/Produce');
    expect(produce.addr).toBe(cluster.addr('n1'));
    const consume = await c.pickChannel('consumeStream');
    expect([cluster.addr('n2'), cluster.addr('n3')]).toContain(consume.addr);
    const stub = new LogClient(produce.addr, credentials.createInsecure(), { channelOverride: produce.channel });
    const res = await new Promise((resolve, reject) =>
      stub.produce({ record: { value: Buffer.from('own'), offset: 0n, term: 0n, type: 0 }, records: [], producerId: '', sequence: 0n }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    expect(res).toMatchObject({ offset: 0n });
    expect(cluster.node('n1').log.appends).toBe(1);
  });
});

describe('ReplogClient leader changes and retries', () => {
  it('an UNAVAILABLE from a node that got the request is an unknown outcome, not retried by default', async () => {
    // idempotent: false: the proglog contract (the idempotent default retries: test/idempotence).
    const c = client([cluster.addr('n1')], { idempotent: false });
    expect(await c.produce('a')).toBe(0);
    cluster.leader = 'n2';
    const err = await c.produce('b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect(err).toMatchObject({ addr: cluster.addr('n1'), leaderAddr: cluster.addr('n2'), records: 1 });
    expect(cluster.node('n1').log.refused).toBe(1);
    // The trailer taught the client the new leader: the next produce goes there.
    expect(c.leaderAddr()).toBe(cluster.addr('n2'));
    expect(await c.produce('c')).toBe(1);
    expect(cluster.node('n2').log.appends).toBe(1);
  });

  it('a leader failing a produce as outcome unknown: thrown without idempotence, retried with retryUnknown', async () => {
    const c = client([cluster.addr('n2')], { idempotent: false });
    const n1 = cluster.node('n1').log;
    n1.failNext.push(new UnavailableError('leadership lost before commit'));
    await expect(c.produce('a')).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(n1.refused).toBe(1);
    expect(await cluster.contents()).toEqual([]);

    n1.failNext.push(new UnavailableError('leadership lost before commit'), new UnavailableError('again'));
    expect(await c.produce('b', { retryUnknown: true })).toBe(0);
    expect(n1.refused).toBe(3);
    expect(await cluster.contents()).toEqual(['b']);

    cluster.leader = 'n3';
    const atLeastOnce = client([cluster.addr('n1')], { retryUnknown: true, idempotent: false });
    expect(await atLeastOnce.produce('c')).toBe(1);
    expect(cluster.node('n3').log.appends).toBe(1);
  });

  it('follows a new leader after the old one stops (connection refused is retried safely)', async () => {
    const c = client([cluster.addr('n1'), cluster.addr('n2')]);
    expect(await c.produce('a')).toBe(0);
    cluster.leader = 'n2';
    await cluster.stop('n1');
    await clientNoticedDown(c, cluster.addr('n1'));
    expect(await c.produce('b')).toBe(1);
    expect(c.leaderAddr()).toBe(cluster.addr('n2'));
    expect(cluster.node('n2').log.appends).toBe(1);
    expect(await cluster.contents()).toEqual(['a', 'b']);
  });

  it('gives up with a typed error after bounded retries when no node is up', async () => {
    const c = client([cluster.addr('n1')], { retry: { maxAttempts: 4, retryDeadlineMs: 10_000, baseBackoffMs: 5, maxBackoffMs: 20 } });
    expect(await c.produce('a')).toBe(0);
    for (const n of ['n1', 'n2', 'n3']) await cluster.stop(n);
    await clientNoticedDown(c, cluster.addr('n1'));
    const err = await c.produce('b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err).toMatchObject({ operation: 'produce', attempts: 4 });
    const read = await c.consume(0).catch((e: unknown) => e);
    expect(read).toBeInstanceOf(RetriesExhaustedError);
    const never = client([cluster.addr('n3')], { retry: { maxAttempts: 3, retryDeadlineMs: 10_000, baseBackoffMs: 5, maxBackoffMs: 20 } });
    await expect(never.servers()).rejects.toBeInstanceOf(UnavailableError);
    await expect(never.produce('c')).rejects.toMatchObject({ attempts: 3 });
  });
});

describe('ReplogClient streams', () => {
  it('consumeBatches yields the server batches in order, never empty, ending at the high offset', async () => {
    const c = client([cluster.addr('n1')]);
    await c.produceBatch(values(...Array.from({ length: 23 }, (_, i) => `b${i}`)));
    const batches: number[][] = [];
    for await (const batch of c.consumeBatches(2, { maxBatchRecords: 5, untilHigh: true })) batches.push(batch.map((r) => r.offset));
    expect(batches.map((b) => b.length)).toEqual([5, 5, 5, 5, 1]);
    expect(batches.flat()).toEqual(Array.from({ length: 21 }, (_, i) => i + 2));
  });

  it('ConsumeStream resumes on another node when its node stops: no gaps, no duplicates', async () => {
    const c = client([cluster.addr('n1')]);
    await c.produceBatch(values(...Array.from({ length: 50 }, (_, i) => `r${i}`)));
    const ac = new AbortController();
    const got: ConsumedRecord[] = [];
    let stoppedNode: string | undefined;
    for await (const r of c.consumeStream(0, { maxBatchRecords: 5, signal: ac.signal })) {
      got.push(r);
      if (got.length === 20) {
        const serving = ['n2', 'n3'].filter((n) => cluster.node(n).log.reads > 0);
        expect(serving).toHaveLength(1);
        stoppedNode = serving[0]!;
        await cluster.stop(stoppedNode);
        await c.produceBatch(values(...Array.from({ length: 50 }, (_, i) => `r${50 + i}`)));
      }
      if (got.length === 100) ac.abort();
    }
    expect(got.map((r) => r.offset)).toEqual([...Array(100).keys()]);
    expect(got.map((r) => r.value.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `r${i}`));
    const other = stoppedNode === 'n2' ? 'n3' : 'n2';
    expect(cluster.node(other).log.reads).toBeGreaterThan(0);
    expect(cluster.node('n1').log.reads).toBe(0);
  });

  it('ProduceStream reconnects to the new leader; in-flight records are reported as outcome unknown (not idempotent)', async () => {
    const c = client([cluster.addr('n3')], { idempotent: false });
    const input = new GroupQueue();
    const results = c.produceStream(input, { inflightMax: 1 });
    input.push(values('a', 'b'));
    expect((await results.next()).value).toEqual({ type: 'ok', offset: 0, count: 2 });

    const n1 = cluster.node('n1').log;
    n1.hold = true;
    input.push(values('c'));
    const pending = results.next();
    await until(() => n1.heldCount() === 1, 'the leader to hold the append', 10_000);
    cluster.leader = 'n2';
    n1.release(new UnavailableError('leadership lost', cluster.addr('n2')));
    const lost = await pending;
    if (lost.done === true || lost.value.type !== 'unknown') throw new Error(`expected an unknown outcome, got ${JSON.stringify(lost)}`);
    expect(lost.value.count).toBe(1);
    expect(lost.value.values.map(String)).toEqual(['c']);
    expect(lost.value.error).toBeInstanceOf(OutcomeUnknownError);

    input.push(values('d'));
    expect((await results.next()).value).toEqual({ type: 'ok', offset: 2, count: 1 });
    expect(cluster.node('n2').log.appends).toBe(1);
    input.end();
    expect((await results.next()).done).toBe(true);
    expect(await cluster.contents()).toEqual(['a', 'b', 'd']);
  });

  it('ProduceStream with retryUnknown resends the in-flight records to the new leader', async () => {
    const c = client([cluster.addr('n1')]);
    const input = new GroupQueue();
    const results = c.produceStream(input, { inflightMax: 1, retryUnknown: true });
    const n1 = cluster.node('n1').log;
    n1.hold = true;
    input.push(values('a'));
    const pending = results.next();
    await until(() => n1.heldCount() === 1, 'the leader to hold the append', 10_000);
    cluster.leader = 'n3';
    await cluster.stop('n1');
    expect((await pending).value).toEqual({ type: 'ok', offset: 0, count: 1 });
    expect(cluster.node('n3').log.appends).toBe(1);
    input.end();
    expect((await results.next()).done).toBe(true);
    expect(await cluster.contents()).toEqual(['a']);
  });
});

/** An async iterable of produce groups the test pushes one at a time. */
class GroupQueue implements AsyncIterable<Buffer[]> {
  private readonly items: Buffer[][] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  push(group: Buffer[]): void {
    this.items.push(group);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer[]> {
    for (;;) {
      const next = this.items.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}
