/**
 * Real UDP on 127.0.0.1 (ports chosen by the OS), real clock, short timings. Waits poll with a
 * deadline; nothing asserts on timing.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Membership, UdpTransport, type MembershipEvent } from '../../src/membership/index.js';
import { Prng } from '../../src/util/prng.js';
import { until } from '../helpers/wait.js';

const FAST = { probeIntervalMs: 100, probeTimeoutMs: 50, gossipIntervalMs: 50, pushPullIntervalMs: 2000, joinRetryInitialMs: 100, joinRetryMaxMs: 500 };
const seed = Date.now() % 1_000_000;
const nodes: Membership[] = [];

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((m) => m.close()));
});

async function start(name: string, key: Buffer, events: MembershipEvent[], i: number): Promise<Membership> {
  const transport = await UdpTransport.bind({ host: '127.0.0.1', port: 0 });
  const m = new Membership({ name, transport, gossipKey: key, tags: { name, rpcAddr: `127.0.0.1:${9000 + i}` }, timings: FAST, random: new Prng(seed + i) });
  m.on((e) => events.push(e));
  nodes.push(m);
  return m;
}

describe('membership over real UDP', () => {
  it('3 members join and see each other; a leaving member is seen to leave, a closed one to fail', async () => {
    const key = randomBytes(32);
    const events: MembershipEvent[][] = [[], [], []];
    const [a, b, c] = [await start('a', key, events[0]!, 0), await start('b', key, events[1]!, 1), await start('c', key, events[2]!, 2)];
    const seeds = [a.localMember().addr];
    await Promise.all([a.join(seeds), b.join(seeds), c.join(seeds)]);
    const alive = (m: Membership, n: number): boolean => m.members().filter((x) => x.state === 'alive').length === n;
    await until(() => [a, b, c].every((m) => alive(m, 3)), 'all three alive everywhere');
    expect(a.members().find((x) => x.name === 'b')?.tags.rpcAddr).toBe('127.0.0.1:9001');

    await c.leave(2000);
    await c.close();
    const stateOf = (m: Membership, n: string): string | undefined => m.members().find((x) => x.name === n)?.state;
    await until(() => stateOf(a, 'c') === 'left' && stateOf(b, 'c') === 'left', 'c to be seen leaving');
    expect(events[0]!.filter((e) => e.member.name === 'c').map((e) => e.type)).toEqual(['join', 'leave']);

    await b.close(); // a silent stop, e.g. a crash: a declares it failed
    await until(() => stateOf(a, 'b') === 'dead', 'b to be declared dead', 20_000);
    expect(events[0]!.filter((e) => e.member.name === 'b').map((e) => e.type)).toEqual(['join', 'fail']);
    expect(a.stats().packetsIn).toBeGreaterThan(0);
    expect(a.stats().droppedDecrypt).toBe(0);
  });
});
