import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, until } from './harness.js';

const SEED = Number(process.env.SEED ?? Date.now() % 100000);

describe(`replicated log, 3 in-process nodes (seed ${SEED})`, () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('replicates produces to every node at the same dense offsets', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const values = Array.from({ length: 2000 }, (_, i) => Buffer.from(`record-${i}`));
    const offsets = await Promise.all(values.map((v) => leader.rlog.append([v])));
    expect([...offsets].sort((x, y) => x - y)).toEqual(values.map((_, i) => i));
    for (const n of cluster.nodes.values()) {
      await until(() => n.rlog.highestOffset() === 1999, `${n.id} to catch up`);
      const got: string[] = [];
      let from = 0;
      while (from <= 1999) {
        const batch = await n.rlog.readBatch(from, { maxRecords: 500, maxBytes: 1 << 20 });
        for (const r of batch) got[r.offset] = r.value.toString();
        from += batch.length;
      }
      offsets.forEach((off, i) => expect(got[off]).toBe(`record-${i}`));
    }
  });

  it('forwards a produce from a follower to the leader', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    await leader.rlog.append([Buffer.from('first')]);
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await until(() => follower.node.softState().leader !== null, 'follower to know the leader');
    const off = await follower.rlog.append([Buffer.from('x'), Buffer.from('y')]);
    expect(off).toBe(1);
    await until(() => follower.rlog.highestOffset() === 2, 'follower to see its forwarded records');
    expect((await follower.rlog.read(2)).value.toString()).toBe('y');
  });

  it('elects a new leader after the leader stops and keeps every acknowledged record', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED);
    await cluster.startAll();
    const first = await cluster.waitForLeader();
    for (let i = 0; i < 100; i++) await first.rlog.append([Buffer.from(`v${i}`)]);
    await cluster.stop(first.id);
    const second = await cluster.waitForLeader();
    expect(second.id).not.toBe(first.id);
    const off = await second.rlog.append([Buffer.from('after')]);
    expect(off).toBe(100);
    await cluster.start(first.id, false);
    const back = cluster.nodes.get(first.id)!;
    await until(() => back.rlog.highestOffset() === 100, 'old leader to catch up');
    for (let i = 0; i < 100; i++) expect((await back.rlog.read(i)).value.toString()).toBe(`v${i}`);
    expect((await back.rlog.read(100)).value.toString()).toBe('after');
  });
});
