/**
 * A full disk under the Raft node, in process (no root needed; test/security/disk-full.test.ts
 * does it with a real file system): the write is undone, the produce fails with DiskFullError, the
 * node does not stop for good, acknowledged records stay readable, and writes resume with space.
 */
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { DiskFullError } from '../../src/errors.js';
import { TestCluster } from '../raft-io/harness.js';
import { eventually } from '../helpers/wait.js';

const seed = Date.now() % 1_000_000;
let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('a Raft node whose disk fills up', () => {
  it('refuses produces with DiskFullError, keeps what it acknowledged, and resumes', async () => {
    onTestFailed(() => console.error(`raft-disk-full seed=${seed}`));
    const c = new TestCluster(['a'], seed, { memory: true });
    cluster = c;
    await c.startAll();
    const a = await c.waitForLeader();
    const disk = c.disks.get('a');
    if (!disk) throw new Error('no disk');
    const acked = new Map<number, string>();
    const value = (i: number): Buffer => Buffer.from(`record-${i}-${'y'.repeat(500)}`);
    disk.capacityBytes = disk.usedBytes() + 20_000;
    let failure: unknown;
    for (let i = 0; i < 200 && failure === undefined; i++) {
      try {
        acked.set(await a.rlog.append([value(i)]), value(i).toString());
      } catch (err) {
        failure = err;
      }
    }
    expect(failure).toBeInstanceOf(DiskFullError);
    expect(acked.size).toBeGreaterThan(10);
    for (const [offset, v] of acked) expect((await a.rlog.read(offset)).value.toString()).toBe(v);

    disk.capacityBytes = Number.POSITIVE_INFINITY;
    const offset = await eventually(() => a.rlog.append([Buffer.from('after')]), 'a produce after space was freed', 10_000);
    expect(offset).toBe(Math.max(...acked.keys()) + 1);
    expect((await a.rlog.read(offset)).value.toString()).toBe('after');
  });

  it('in a 3-node cluster: a full follower lags and catches up, a full leader steps down', async () => {
    onTestFailed(() => console.error(`raft-disk-full seed=${seed}`));
    const c = new TestCluster(['a', 'b', 'c'], seed, { memory: true });
    cluster = c;
    await c.startAll();
    const leader = await c.waitForLeader();
    const follower = [...c.nodes.values()].find((n) => n !== leader);
    const followerDisk = c.disks.get(follower?.id ?? '');
    if (!follower || !followerDisk) throw new Error('no follower');
    followerDisk.capacityBytes = followerDisk.usedBytes() + 5_000;
    const values = Array.from({ length: 40 }, (_, i) => Buffer.from(`v${i}-${'z'.repeat(300)}`));
    for (const v of values) await leader.rlog.append([v]);
    followerDisk.capacityBytes = Number.POSITIVE_INFINITY;
    await eventually(() => (follower.rlog.highestOffset() >= values.length - 1 ? true : undefined), 'the follower to catch up', 10_000);
    expect((await follower.rlog.read(values.length - 1)).value.toString()).toBe(values[values.length - 1]?.toString());

    const leaderDisk = c.disks.get(leader.id);
    if (!leaderDisk) throw new Error('no leader disk');
    leaderDisk.capacityBytes = leaderDisk.usedBytes();
    const err = await leader.rlog.append([Buffer.from('refused')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const next = await eventually(() => {
      const l = c.leader();
      return l && l !== leader ? l : undefined;
    }, 'another node to lead', 10_000);
    const offset = await eventually(() => next.rlog.append([Buffer.from('elsewhere')]), 'a produce on the new leader', 10_000);
    expect((await next.rlog.read(offset)).value.toString()).toBe('elsewhere');
    leaderDisk.capacityBytes = Number.POSITIVE_INFINITY;
    await eventually(() => (leader.rlog.highestOffset() >= offset ? true : undefined), 'the old leader to catch up', 10_000);
  });
});
