/**
 * SWIM behaviour on the simulated network: convergence, failure detection, accuracy under loss,
 * refutation after a partition, graceful leave, tags, restarts. Seeds are in every failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PERIOD_MS, SimCluster, addrOf } from './sim-cluster.js';

let cluster: SimCluster | null = null;

async function make(seed: number, count: number, lossRate = 0): Promise<SimCluster> {
  cluster = new SimCluster(seed, lossRate);
  await cluster.startJoined(count);
  return cluster;
}

afterEach(async () => {
  await cluster?.closeAll();
  cluster = null;
});

describe('SWIM on a simulated network', () => {
  it('5 members converge from one seed address within 5 protocol periods', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = await make(seed, 5);
      await c.runUntil(() => c.converged(), 5 * PERIOD_MS, 'convergence');
      for (const n of c.running()) {
        expect(n.events.filter((e) => e.type === 'join').length, `seed ${seed} ${n.name}`).toBe(4);
      }
      await c.closeAll();
    }
  });

  it('a killed member is declared dead by all others within 30 protocol periods', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const c = await make(seed, 5);
      await c.runUntil(() => c.converged(), 5 * PERIOD_MS, 'convergence');
      await c.stop('n3');
      const others = c.running();
      await c.runUntil(() => others.every((o) => c.view(o.name, 'n3')?.state === 'dead'), 30 * PERIOD_MS, 'failure detection');
      for (const o of others) {
        const about = o.events.filter((e) => e.member.name === 'n3').map((e) => e.type);
        expect(about, `seed ${seed} ${o.name}`).toEqual(['join', 'fail']);
        expect(o.m.stats().suspicions, `seed ${seed}`).toBeGreaterThanOrEqual(1);
      }
      await c.closeAll();
    }
  });

  it('declares nobody dead under 10% packet loss (50 seeds x 300 periods)', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const c = await make(seed, 5, 0.1);
      await c.runUntil(() => c.converged(), 30 * PERIOD_MS, 'convergence under loss');
      c.clock.advance(300 * PERIOD_MS);
      for (const n of c.running()) {
        const bad = n.events.filter((e) => e.type !== 'join');
        expect(bad, `seed ${seed}: ${n.name} saw ${JSON.stringify(bad)}`).toEqual([]);
      }
      // A momentary suspicion under loss is expected; a death is not.
      for (const n of c.running()) {
        const states = n.m.members().map((x) => x.state);
        expect(states.every((st) => st === 'alive' || st === 'suspect'), `seed ${seed} ${n.name}: ${states.join(',')}`).toBe(true);
      }
      expect(c.net.dropped, `seed ${seed}: loss was simulated`).toBeGreaterThan(0);
      await c.closeAll();
    }
  });

  it('a partitioned member that comes back in time refutes its suspicion', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const c = await make(seed, 5);
      await c.runUntil(() => c.converged(), 5 * PERIOD_MS, 'convergence');
      const before = c.node('n5').m.localMember().incarnation;
      c.net.partition([addrOf('n5')]);
      await c.runUntil(() => ['n1', 'n2', 'n3', 'n4'].some((o) => c.view(o, 'n5')?.state === 'suspect'), 20 * PERIOD_MS, 'suspicion of n5');
      c.net.heal();
      await c.runUntil(
        () => c.converged() && c.running().every((o) => (c.view(o.name, 'n5')?.incarnation ?? -1) > before),
        // n5 also suspected the others while cut off: they refute too, through n5's own probes.
        25 * PERIOD_MS,
        'refutation',
      );
      const n5 = c.node('n5').m;
      expect(n5.stats().refutations, `seed ${seed}`).toBeGreaterThanOrEqual(1);
      for (const o of c.running()) {
        expect(o.events.filter((e) => e.type === 'fail'), `seed ${seed} ${o.name}`).toEqual([]);
      }
      await c.closeAll();
    }
  });

  it('a long partition heals: both sides see each other alive again', async () => {
    const c = await make(7, 4);
    await c.runUntil(() => c.converged(), 5 * PERIOD_MS, 'convergence');
    c.net.partition([addrOf('n4')]);
    await c.runUntil(() => c.view('n1', 'n4')?.state === 'dead' && c.view('n4', 'n1')?.state === 'dead', 60 * PERIOD_MS, 'both sides failing');
    c.net.heal();
    // The periodic push-pull also reaches dead members, which then refute.
    await c.runUntil(() => c.converged(), 120 * PERIOD_MS, 're-convergence');
    expect(c.node('n1').events.filter((e) => e.member.name === 'n4').map((e) => e.type)).toEqual(['join', 'fail', 'join']);
  });

  it('a graceful leave propagates as "leave", never "fail"', async () => {
    const c = await make(3, 5);
    await c.runUntil(() => c.converged(), 5 * PERIOD_MS, 'convergence');
    const n4 = c.node('n4').m;
    let left = false;
    const leaving = n4.leave(5000).then(() => (left = true));
    await c.runUntil(() => left, 6000, 'leave() to resolve');
    await leaving;
    await c.stop('n4');
    const others = c.running();
    await c.runUntil(() => others.every((o) => c.view(o.name, 'n4')?.state === 'left'), 5 * PERIOD_MS, 'leave propagation');
    await c.run(60 * PERIOD_MS, 1000);
    for (const o of others) {
      expect(o.events.filter((e) => e.member.name === 'n4').map((e) => e.type), o.name).toEqual(['join', 'leave']);
      expect(c.view(o.name, 'n4')?.state, o.name).toBe('left');
    }
  });

  it('tag changes spread under a new incarnation as "update" events', async () => {
    const c = await make(4, 4);
    await c.runUntil(() => c.converged(), 5 * PERIOD_MS, 'convergence');
    c.node('n2').m.setTags({ name: 'n2', rpcAddr: 'n2:9100' });
    await c.runUntil(() => c.running().every((o) => c.view(o.name, 'n2')?.tags.rpcAddr === 'n2:9100'), 5 * PERIOD_MS, 'tag propagation');
    for (const o of c.running().filter((o) => o.name !== 'n2')) {
      const ups = o.events.filter((e) => e.type === 'update');
      expect(ups.map((e) => [e.member.name, e.member.incarnation, e.member.tags.rpcAddr]), o.name).toEqual([['n2', 1, 'n2:9100']]);
    }
  });

  it('a restarted member (fresh process, incarnation 0) goes above its old incarnation and is alive again', async () => {
    const c = await make(5, 4);
    await c.runUntil(() => c.converged(), 5 * PERIOD_MS, 'convergence');
    c.node('n3').m.setTags({ name: 'n3', rpcAddr: 'n3:9001' }); // incarnation 1 everywhere
    await c.runUntil(() => c.view('n1', 'n3')?.incarnation === 1, 5 * PERIOD_MS, 'incarnation 1');
    await c.stop('n3');
    await c.runUntil(() => c.view('n1', 'n3')?.state === 'dead', 30 * PERIOD_MS, 'n3 dead');
    const n3 = c.add('n3');
    let joined = false;
    void n3.m.join([addrOf('n1')]).then(() => (joined = true));
    await c.runUntil(() => joined && c.converged(), 10 * PERIOD_MS, 'rejoin');
    expect(n3.m.localMember().incarnation).toBeGreaterThan(1);
    expect(c.node('n1').events.filter((e) => e.member.name === 'n3').map((e) => e.type)).toEqual(['join', 'update', 'fail', 'join']);
  });

  it('a full-state sync larger than a datagram is split; every packet stays under the limit', async () => {
    const c = new SimCluster(11);
    cluster = c;
    const bigTags = (name: string): Record<string, string> => ({ name, rpcAddr: `${name}:9000`, pad: 'x'.repeat(200) });
    const joins: Promise<void>[] = [];
    for (let i = 1; i <= 24; i++) joins.push(c.add(`n${i}`, { tags: bigTags(`n${i}`) }).m.join([addrOf('n1')]));
    await c.runUntil(() => c.converged(), 20 * PERIOD_MS, 'convergence of 24 members');
    await Promise.all(joins);
    const late = c.add('late', { tags: bigTags('late') });
    let joined = false;
    void late.m.join([addrOf('n1')]).then(() => (joined = true));
    // One round trip of the split sync teaches the newcomer everyone.
    await c.runUntil(() => joined && late.m.members().length === 25, 2 * PERIOD_MS, 'split sync');
    expect(c.net.largestDatagramBytes).toBeGreaterThan(1000);
    expect(c.net.largestDatagramBytes).toBeLessThanOrEqual(1400);
  });
});
