import { afterEach, describe, expect, it } from 'vitest';
import { Prng } from '../../src/util/prng.js';
import { TestCluster, until } from './harness.js';

const SEED = Number(process.env.SEED ?? Date.now() % 100000);

/**
 * Durability end to end: nodes on MemoryFileSystem lose power (unsynced bytes dropped, torn
 * tails) while producers run; no acknowledged record may ever be lost or move.
 */
describe(`power loss under load (seed ${SEED})`, () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('never loses an acknowledged record when single nodes and then all nodes lose power', async () => {
    const rng = new Prng(SEED);
    const ids = ['a/1', 'b/1', 'c/1'];
    cluster = new TestCluster(ids, SEED, { memory: true, segment: { maxStoreBytes: 64 * 1024, maxIndexBytes: 4096 } });
    const c = cluster;
    await c.startAll();
    const acked = new Map<number, string>();
    let seq = 0;
    let stop = false;
    const producer = async (): Promise<void> => {
      while (!stop) {
        const leader = c.leader();
        if (!leader) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const value = `v${seq++}`;
        try {
          const off = await leader.rlog.append([Buffer.from(value)]);
          expect(acked.has(off), `offset ${off} acknowledged twice (seed ${SEED})`).toBe(false);
          acked.set(off, value);
        } catch {
          // outcome unknown: allowed
        }
      }
    };
    const producers = Array.from({ length: 8 }, () => producer());
    for (let round = 0; round < 10; round++) {
      await until(() => acked.size > (round + 1) * 40, 'progress', 20_000);
      if (round % 2 === 0) {
        const victim = rng.pick(ids);
        await c.powerLoss(victim, rng);
        await c.start(victim, false);
      } else {
        for (const id of ids) await c.powerLoss(id, rng);
        for (const id of ids) await c.start(id, false);
      }
    }
    stop = true;
    await Promise.all(producers);
    const leader = await c.waitForLeader();
    await leader.rlog.append([Buffer.from('final')]);
    const top = leader.rlog.highestOffset();
    for (const n of c.nodes.values()) {
      await until(() => n.rlog.highestOffset() === top, `${n.id} to catch up`, 20_000);
      for (const [off, value] of acked) {
        const rec = await n.rlog.read(off);
        expect(rec.value.toString(), `offset ${off} on ${n.id} (seed ${SEED})`).toBe(value);
      }
    }
  }, 120_000);
});
