/**
 * The in-process chaos mode: three real Raft nodes (real TCP on 127.0.0.1) on the MemoryFileSystem
 * twin, so that a power cut can drop unsynced bytes and tear the last record, which kill -9 on a
 * real machine cannot. Producers append on the leader, a consumer follows a follower, and the
 * same history checker judges the run. An injected fsync failure must stop the node: nothing is
 * acknowledged through it afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { errorMessage, LogFailedError } from '../../src/errors.js';
import { Prng } from '../../src/util/prng.js';
import { TestCluster, until, type TestNode } from '../raft-io/harness.js';
import { checkHistory, formatSummary, type NodeLog } from './checker.js';
import type { HistoryEvent } from './history.js';

const SEED = Number(process.env.SEED ?? Date.now() % 100_000);
const ids = ['a/1', 'b/1', 'c/1'];

class Workload {
  readonly events: HistoryEvent[] = [];
  /** Acknowledgements per node that served them, with their time (fsync-failure check). */
  readonly acksBy = new Map<string, number[]>();
  /** Values of the probes that detect a stopped node (unique over the run). */
  probes = 0;
  /** Nodes stopped by a storage failure: frozen, they still report the role they had. */
  readonly stoppedIds = new Set<string>();
  private stopped = false;
  private readonly running: Promise<void>[] = [];

  constructor(private readonly c: TestCluster) {}

  start(producers: number): void {
    for (let i = 0; i < producers; i++) this.running.push(this.produce(`p${i}`));
    this.running.push(this.consume('c0'));
  }

  acked(): number {
    return this.events.filter((e) => e.t === 'ok').length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  leader(): TestNode | undefined {
    return [...this.c.nodes.values()].find((n) => !this.stoppedIds.has(n.id) && n.node.softState().role === 'leader');
  }

  private async produce(proc: string): Promise<void> {
    for (let seq = 0; !this.stopped; seq++) {
      const leader = this.leader();
      if (!leader) {
        await pause(5);
        continue;
      }
      const value = `${proc}-${seq}`;
      this.events.push({ t: 'invoke', proc, value, time: Date.now() });
      try {
        const offset = await leader.rlog.append([Buffer.from(value)]);
        this.events.push({ t: 'ok', proc, value, offset, time: Date.now() });
        const list = this.acksBy.get(leader.id) ?? [];
        list.push(Date.now());
        this.acksBy.set(leader.id, list);
      } catch (err) {
        this.events.push({ t: 'info', proc, value, error: errorMessage(err), time: Date.now() });
        await pause(5);
      }
    }
  }

  /** Follows whichever follower is up, resuming at the next offset after every break. */
  private async consume(proc: string): Promise<void> {
    let next = 0;
    while (!this.stopped) {
      const node = [...this.c.nodes.values()].find((n) => n.node.softState().role !== 'leader');
      try {
        if (!node || node.rlog.highestOffset() < next) throw new Error('nothing new');
        const batch = await node.rlog.readBatch(next, { maxRecords: 200, maxBytes: 1 << 20 });
        for (const r of batch) {
          this.events.push({ t: 'read', proc, offset: r.offset, value: r.value.toString(), time: Date.now() });
          next = r.offset + 1;
        }
        // Reads on the in-memory disk never wait for a timer: yield so the nodes' ticks run.
        await pause(batch.length === 0 ? 10 : 1);
      } catch {
        await pause(10);
      }
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function finalLogs(c: TestCluster): Promise<NodeLog[]> {
  const leader = await c.waitForLeader(20_000);
  await leader.rlog.append([Buffer.from('final')]);
  const top = leader.rlog.highestOffset();
  const logs: NodeLog[] = [];
  for (const n of c.nodes.values()) {
    await until(() => n.rlog.highestOffset() === top, `${n.id} to catch up`, 20_000);
    const records: { offset: number; value: string }[] = [];
    for (let tries = 0; records.length <= top && tries < 10_000; tries++) {
      const batch = await n.rlog.readBatch(records.length, { maxRecords: 1000, maxBytes: 1 << 22 });
      for (const r of batch) records.push({ offset: r.offset, value: r.value.toString() });
      if (batch.length === 0) await pause(10);
    }
    logs.push({ node: n.id, records });
  }
  return logs;
}

describe(`in-process chaos: power loss and fsync failures (seed ${SEED})`, () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('loses nothing acknowledged through single and whole-cluster power cuts and a failed fsync', async () => {
    const rng = new Prng(SEED);
    const c = new TestCluster(ids, SEED, { memory: true, segment: { maxStoreBytes: 32 * 1024, maxIndexBytes: 2048 } });
    cluster = c;
    await c.startAll();
    const work = new Workload(c);
    work.start(6);
    const faults: string[] = [];
    for (let round = 0; round < 10; round++) {
      await until(() => work.acked() > (round + 1) * 60, `progress in round ${round} (seed ${SEED})`, 30_000);
      const kind = round % 4 === 3 ? 'fsync-failure' : rng.pick(['one', 'all']);
      faults.push(kind);
      if (process.env.CHAOS_DEBUG) console.log(`round ${round}: ${kind}, ${work.acked()} acknowledged`);
      if (kind === 'one') {
        const victim = rng.pick(ids);
        await c.powerLoss(victim, rng);
        await c.start(victim, false);
      } else if (kind === 'all') {
        for (const id of ids) await c.powerLoss(id, rng);
        for (const id of ids) await c.start(id, false);
      } else {
        await failFsyncOnLeader(c, work, rng);
      }
    }
    await work.stop();
    work.events.push({ t: 'invoke', proc: 'final', value: 'final', time: Date.now() });
    const result = checkHistory(work.events, await finalLogs(c));
    console.log(`seed ${SEED}, faults ${faults.join(', ')}\n${formatSummary(result.summary)}`);
    expect(result.violations, `seed ${SEED}`).toEqual([]);
    expect(result.summary.acknowledged).toBeGreaterThan(600);
  }, 120_000);
});

/** The leader's next fsync fails: it stops, acknowledges nothing more, and recovers by restart. */
async function failFsyncOnLeader(c: TestCluster, work: Workload, rng: Prng): Promise<void> {
  const leader: TestNode = await c.waitForLeader(20_000);
  const disk = c.disks.get(leader.id);
  if (!disk) throw new Error(`no disk for ${leader.id}`);
  disk.failNextSync('EIO');
  const failedAt = await failureOf(leader, work);
  work.stoppedIds.add(leader.id);
  const before = work.acksBy.get(leader.id)?.length ?? 0;
  // The others elect a new leader and the workload goes on without the failed node.
  await until(() => work.leader() !== undefined, `a new leader after ${leader.id} failed (seed ${SEED})`, 20_000);
  const target = work.acked() + 30;
  await until(() => work.acked() > target, `progress without ${leader.id} (seed ${SEED})`, 30_000);
  const late = (work.acksBy.get(leader.id) ?? []).slice(before).filter((t) => t > failedAt);
  expect(late, `${leader.id} acknowledged after its fsync failed (seed ${SEED})`).toEqual([]);
  work.events.push({ t: 'invoke', proc: 'probe', value: 'after-failure', time: Date.now() });
  await expect(leader.rlog.append([Buffer.from('after-failure')])).rejects.toBeInstanceOf(Error);
  // A stopped node must not send clients to itself as the leader.
  expect((await leader.rlog.servers()).filter((s) => s.isLeader), `${leader.id} still reports a leader after it stopped (seed ${SEED})`).toEqual([]);
  await c.powerLoss(leader.id, rng);
  work.stoppedIds.delete(leader.id);
  await c.start(leader.id, false);
}

/** Waits until the node reports the storage failure (an append rejects with LogFailedError). */
async function failureOf(n: TestNode, work: Workload): Promise<number> {
  let at = 0;
  await until(
    async () => {
      const value = `probe-${work.probes++}`;
      work.events.push({ t: 'invoke', proc: 'probe', value, time: Date.now() });
      try {
        const offset = await n.rlog.append([Buffer.from(value)]);
        work.events.push({ t: 'ok', proc: 'probe', value, offset, time: Date.now() });
        return false;
      } catch (err) {
        work.events.push({ t: 'info', proc: 'probe', value, error: errorMessage(err), time: Date.now() });
        at = Date.now();
        return err instanceof LogFailedError || (err instanceof Error && /stopped after a failed write or sync/.test(errorMessage(err)));
      }
    },
    `${n.id} to stop after its fsync failed (seed ${SEED})`,
    20_000,
  );
  return at;
}
