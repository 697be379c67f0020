/**
 * The smaller pieces: event stream bounds, suspicion timeout, broadcast queue, join retries.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BroadcastQueue } from '../../src/membership/broadcast-queue.js';
import { EventStream } from '../../src/membership/event-stream.js';
import { ManualClock } from '../../src/membership/manual-clock.js';
import { Suspicion } from '../../src/membership/suspicion.js';
import type { MembershipEvent } from '../../src/membership/types.js';
import { PERIOD_MS, SimCluster, addrOf } from './sim-cluster.js';

const ev = (name: string): MembershipEvent => ({ type: 'join', member: { name, addr: 'a:1', tags: {}, incarnation: 0, state: 'alive' } });

let cluster: SimCluster | null = null;
afterEach(async () => {
  await cluster?.closeAll();
  cluster = null;
});

describe('EventStream', () => {
  it('drops the oldest events past its bound and counts them; close() ends iterators', async () => {
    const s = new EventStream(3);
    const it = s.events()[Symbol.asyncIterator]();
    const first = it.next(); // subscribes
    for (const n of ['a', 'b', 'c', 'd', 'e']) s.emit(ev(n));
    // a and b were still queued (undelivered) when the queue overflowed.
    expect((await first).value).toEqual(ev('c'));
    const rest: string[] = [];
    s.close();
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.member.name);
    expect(rest).toEqual(['d', 'e']);
    expect(s.dropped).toBe(2);
    s.close();
  });

  it('listeners see every event synchronously and can unsubscribe', () => {
    const s = new EventStream(1);
    const seen: string[] = [];
    const off = s.on((e) => seen.push(e.member.name));
    s.emit(ev('a'));
    off();
    s.emit(ev('b'));
    expect(seen).toEqual(['a']);
  });
});

describe('Suspicion', () => {
  it('shrinks from max towards min with independent confirmations', () => {
    const clock = new ManualClock();
    let fired = 0;
    const s = new Suspicion(clock, 'n1', 2, 4000, 24_000, () => fired++);
    expect(s.timeoutMs()).toBe(24_000);
    expect(s.confirm('n1')).toBe(false);
    expect(s.confirm('n2')).toBe(true);
    expect(s.confirm('n2')).toBe(false);
    expect(s.timeoutMs()).toBeLessThan(24_000);
    expect(s.confirm('n3')).toBe(true);
    expect(s.timeoutMs()).toBe(4000);
    expect(s.confirm('n4')).toBe(false);
    clock.advance(3999);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
  });
});

describe('BroadcastQueue', () => {
  it('keeps one update per member, sends each a bounded number of times, least-sent first', () => {
    const q = new BroadcastQueue(2, 10);
    q.enqueue({ type: 'alive', name: 'a', addr: 'a:1', incarnation: 0, tags: {} });
    q.enqueue({ type: 'suspect', name: 'a', incarnation: 0, from: 'b' });
    q.enqueue({ type: 'left', name: 'c', incarnation: 0 });
    expect(q.size).toBe(2);
    const limit = q.retransmitLimit(5);
    expect(limit).toBe(2);
    let sent = 0;
    for (let i = 0; i < 10; i++) sent += q.take(1400, 255, 5).length;
    expect(sent).toBe(4);
    expect(q.size).toBe(0);
    q.enqueue({ type: 'left', name: 'c', incarnation: 0 });
    expect(q.take(5, 255, 5)).toEqual([]); // does not fit
  });
});

describe('join', () => {
  it('retries seeds that do not resolve yet, with backoff, until one answers', async () => {
    const c = new SimCluster(31);
    cluster = c;
    await c.startJoined(1);
    let lookups = 0;
    const late = c.add('late', {
      resolver: (host) => {
        lookups++;
        if (host === 'seed' && lookups >= 4) return Promise.resolve(['n1']);
        return Promise.reject(new Error('ENOTFOUND'));
      },
    });
    let joined = false;
    void late.m.join(['seed:7946']).then(() => (joined = true));
    await c.runUntil(() => joined, 30 * PERIOD_MS, 'join after the seed resolves');
    expect(lookups).toBe(4);
    expect(c.view('n1', 'late')?.state).toBe('alive');
    expect(c.view('late', 'n1')?.state).toBe('alive');
  });

  it('resolves at once when the only seed is the node itself; rejects when aborted or closed', async () => {
    const c = new SimCluster(32);
    cluster = c;
    const n1 = c.add('n1');
    await n1.m.join([addrOf('n1')]);
    const lonely = c.add('lonely');
    const abort = new AbortController();
    const aborted = lonely.m.join([addrOf('nobody')], { signal: abort.signal });
    await c.run(3 * PERIOD_MS);
    abort.abort(new Error('give up'));
    await expect(aborted).rejects.toThrow('give up');
    const closed = lonely.m.join([addrOf('nobody')]);
    await c.run(PERIOD_MS);
    await lonely.m.close();
    await expect(closed).rejects.toThrow('closed');
    await lonely.m.close(); // idempotent
  });
});
