/**
 * A small seeded fuzz of the core through the test harness (the full simulator lives in
 * test/sim): random ticks, proposals, message loss, partitions and restarts; after every step,
 * at most one leader per term and committed prefixes that agree and never change.
 */
import { describe, expect, it } from 'vitest';
import { EntryType } from '../../src/raft/core/index.js';
import { Prng } from '../../src/util/prng.js';
import { Cluster, bytes } from './cluster.js';

function run(seed: number, steps: number): void {
  const rng = new Prng(seed);
  const c = new Cluster(seed);
  const ids = ['1', '2', '3', '4', '5'].slice(0, 3 + 2 * rng.int(2));
  c.bootstrap(ids, ids, [], { maxInflightMsgs: 4, maxMsgBytes: 16 });
  const leaders = new Map<number, string>();
  const committed = new Map<number, number>(); // index -> term, once seen committed anywhere
  for (let step = 0; step < steps; step++) {
    const roll = rng.int(100);
    const id = rng.pick(ids);
    if (roll < 40) c.tick(id, 1);
    else if (roll < 55) {
      try {
        c.core(id).propose([{ type: EntryType.Data, data: bytes(`s${step}`) }]);
      } catch {
        // not the leader: fine
      }
    } else if (roll < 60) c.partition([ids.filter(() => rng.chance(0.5)), []].filter((g) => g.length > 0).concat([ids]));
    else if (roll < 65) c.heal();
    else if (roll < 67) c.restart(id);
    else if (roll < 72) c.drop([id]);
    else {
      c.processReady(id);
      if (c.queue.length > 0) {
        const m = c.queue.splice(rng.int(c.queue.length), 1)[0]!;
        if (!c.isBlocked(m)) c.core(m.to).step(m);
      }
    }
    for (const n of c.nodes.values()) {
      const st = n.core.status();
      if (st.role === 'leader') {
        const prev = leaders.get(st.term);
        expect(prev === undefined || prev === n.id, `seed ${seed}: two leaders in term ${st.term}`).toBe(true);
        leaders.set(st.term, n.id);
      }
      const upTo = Math.min(n.commitIndex, n.storage.lastIndex());
      for (let i = Math.max(n.storage.firstIndex(), upTo - 5); i <= upTo; i++) {
        const t = n.storage.term(i);
        const seen = committed.get(i);
        expect(seen === undefined || seen === t, `seed ${seed}: committed index ${i} changed`).toBe(true);
        committed.set(i, t);
      }
    }
  }
  expect(c.checkCommitted(), `seed ${seed}`).toEqual([]);
}

describe('random schedules keep Raft safety (seeded; the seed is in every failure message)', () => {
  it('holds for 150 seeds of 600 steps', () => {
    for (let seed = 1; seed <= 150; seed++) run(seed, 600);
  });
});
