import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Retention } from '../../src/agent/retention.js';
import { OffsetOutOfRangeError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { TestCluster, until, type TestNode } from '../raft-io/harness.js';

const SEED = Number(process.env.SEED ?? 4242);
const segment = { maxStoreBytes: 8 * 1024, maxIndexBytes: 1024 };
const value = (i: number): Buffer => Buffer.from(`r${i}-`.padEnd(200, 'x'));

async function fill(leader: TestNode, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += 10) await leader.rlog.append(Array.from({ length: 10 }, (_, j) => value(i + j)));
}

function retentionOn(n: TestNode, opts: { retentionBytes?: number; retentionMs?: number; marginEntries?: number; registry?: Registry; now?: () => number; lastAppendMs?: (p: string) => Promise<number | undefined> }): Retention {
  return new Retention({ node: n.node, log: n.storage.log, retentionBytes: 0, retentionMs: 0, intervalMs: 60_000, marginEntries: 0, logger: silentLogger(), ...opts });
}

async function counter(registry: Registry, name: string): Promise<number> {
  const m = (await registry.getSingleMetric(name)?.get())?.values[0]?.value;
  return m ?? 0;
}

describe(`retention (seed ${SEED})`, () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('drops whole old segments over --retention-bytes, never the tail; reads below the start name the lowest offset', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED, { segment });
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    await fill(leader, 0, 300);
    await until(() => [...cluster!.nodes.values()].every((n) => n.rlog.highestOffset() === 299), 'replication');
    const registry = new Registry();
    const before = leader.storage.log.segmentCount();
    const retention = retentionOn(leader, { retentionBytes: 24 * 1024, registry });
    const first = await retention.runOnce();
    expect(first.segments).toBeGreaterThan(0);
    expect(leader.storage.log.segmentCount()).toBe(before - first.segments);
    expect(leader.storage.log.sizeBytes()).toBeLessThanOrEqual(24 * 1024);
    const lowest = leader.rlog.lowestOffset();
    expect(lowest).toBeGreaterThan(0);
    const err = await leader.rlog.read(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OffsetOutOfRangeError);
    expect((err as OffsetOutOfRangeError).reason).toBe('gone');
    expect((err as Error).message).toContain(`lowest available offset is ${lowest}`);
    for (let i = lowest; i < 300; i++) expect((await leader.rlog.read(i)).value.equals(value(i))).toBe(true);
    expect(await counter(registry, 'replog_retention_deleted_segments_total')).toBe(first.segments);
    expect(await counter(registry, 'replog_retention_deleted_bytes_total')).toBe(first.bytes);
    // Under the limit now: another pass deletes nothing; new records keep dense offsets.
    expect((await retention.runOnce()).segments).toBe(0);
    expect(await leader.rlog.append([Buffer.from('next')])).toBe(300);
    await retention.close();
    await retention.close();
  });

  it('drops segments older than --retention-ms (age = last append), not newer ones', async () => {
    cluster = new TestCluster(['a/1'], SEED, { segment });
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    await fill(leader, 0, 200);
    const segs = leader.storage.log.segments();
    expect(segs.length).toBeGreaterThan(3);
    // Pretend the first two segments were last appended to an hour ago, the rest just now.
    const old = new Set(segs.slice(0, 2).map((s) => s.storePath));
    const now = 10_000_000;
    const retention = retentionOn(leader, { retentionMs: 60_000, now: () => now, lastAppendMs: (p) => Promise.resolve(old.has(p) ? now - 3_600_000 : now) });
    const result = await retention.runOnce();
    expect(result.segments).toBe(2);
    expect(leader.storage.log.segments()[0]?.baseOffset).toBe(segs[2]?.baseOffset);
    await retention.close();
  });

  it('a follower that fell behind the leader\'s retention catches up through InstallSnapshot', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED, { segment });
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const lagging = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await cluster.stop(lagging.id);
    await fill(leader, 0, 300);
    const retention = retentionOn(leader, { retentionBytes: 16 * 1024 });
    // While the stopped follower still counts as active (rule 14), retention keeps what it needs.
    if (leader.node.followerActive(lagging.id)) expect((await retention.runOnce()).segments).toBe(0);
    await until(() => !leader.node.followerActive(lagging.id), 'the follower to be seen inactive');
    expect((await retention.runOnce()).segments).toBeGreaterThan(0);
    const lowest = leader.rlog.lowestOffset();
    expect(lowest).toBeGreaterThan(0);

    await cluster.start(lagging.id, false);
    const back = cluster.nodes.get(lagging.id)!;
    await until(() => back.rlog.highestOffset() === 299, 'the lagging follower to catch up');
    expect(back.rlog.lowestOffset()).toBe(lowest);
    for (let i = lowest; i < 300; i++) expect((await back.rlog.read(i)).value.equals(value(i))).toBe(true);
    await retention.close();
  });

  it('a follower never drops past its own commit index', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED, { segment });
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    await fill(leader, 0, 300);
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await until(() => follower.rlog.highestOffset() === 299, 'replication');
    const retention = retentionOn(follower, { retentionBytes: 1 });
    await retention.runOnce();
    const segs = follower.storage.log.segments();
    // Everything but the active segment may go, and only up to the commit index.
    expect(segs.length).toBe(1);
    expect(follower.storage.firstIndex() - 1).toBeLessThanOrEqual(follower.node.commitIndex());
    expect(follower.rlog.highestOffset()).toBe(299);
    await retention.close();
  });
});
