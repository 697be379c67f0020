/**
 * Idempotent producers on an in-process 3-node cluster (real files, TCP, timers): retries after a
 * forced leader change append nothing twice, duplicates are answered with the originals'
 * offsets, a gap is refused, and the state survives a restart of every node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ProducerSequenceError } from '../../src/errors.js';
import type { AppendResult } from '../../src/replicated-log.js';
import { TestCluster, until, type TestNode } from '../raft-io/harness.js';

const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Retries one request (same producer, same sequence) on any live node until it succeeds. */
async function retried(c: TestCluster, value: string, sequence: number, deadlineMs = 20_000): Promise<AppendResult> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const node = c.leader() ?? [...c.nodes.values()][0];
    try {
      if (!node) throw new Error('no node');
      return await node.rlog.appendIdempotent([Buffer.from(value)], { id: 'producer-a', sequence });
    } catch (err) {
      if (err instanceof ProducerSequenceError || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function readValues(node: TestNode): Promise<string[]> {
  const out: string[] = [];
  for (let from = node.rlog.lowestOffset(); from <= node.rlog.highestOffset(); ) {
    const batch = await node.rlog.readBatch(from, { maxRecords: 1000, maxBytes: 1 << 20 });
    for (const r of batch) out.push(r.value.toString());
    from += batch.length;
    if (batch.length === 0) break;
  }
  return out;
}

describe('idempotent producers on a Raft cluster', () => {
  it('retries after a forced leader change append every value exactly once', async () => {
    const c = (cluster = new TestCluster(['a', 'b', 'c'], seed));
    await c.startAll();
    const leader = await c.waitForLeader();
    const follower = [...c.nodes.values()].find((n) => n !== leader)!;
    await until(() => follower.node.softState().leader === leader.id, 'the follower to know the leader');
    const total = 60;
    // Through a follower: forwarded in order to the leader, with their producer fields.
    const first = Array.from({ length: total }, (_, i) =>
      follower.rlog.appendIdempotent([Buffer.from(`v${i}`)], { id: 'producer-a', sequence: i }).then(
        (r) => r,
        () => undefined,
      ),
    );
    await until(() => leader.rlog.highestOffset() >= 10, 'some records to commit');
    await c.stop(leader.id);
    // Every request again, in order, on whoever leads now: appended once, or answered as duplicate.
    const offsets: number[] = [];
    for (let i = 0; i < total; i++) offsets.push((await retried(c, `v${i}`, i)).offset);
    expect(new Set(offsets).size).toBe(total);
    // A first attempt that succeeded got the same offset as its retry.
    const outcomes = await Promise.all(first);
    outcomes.forEach((o, i) => {
      if (o) expect(o.offset).toBe(offsets[i]);
    });
    const again = await retried(c, 'v7', 7);
    expect(again).toEqual({ offset: offsets[7], duplicate: true });
    const reader = await c.waitForLeader();
    await until(() => reader.rlog.highestOffset() >= total - 1, 'every record to commit');
    const values = await readValues(reader);
    expect(values.filter((v) => v.startsWith('v')).sort()).toEqual(Array.from({ length: total }, (_, i) => `v${i}`).sort());
    expect(values.length).toBe(total);
  }, 60_000);

  it('refuses a gap and an unknown producer, and still knows the producer after a restart', async () => {
    const c = (cluster = new TestCluster(['a', 'b', 'c'], seed));
    await c.startAll();
    const leader = await c.waitForLeader();
    const r0 = await leader.rlog.appendIdempotent([Buffer.from('x'), Buffer.from('y')], { id: 'p', sequence: 0 });
    expect(r0.duplicate).toBe(false);
    const gap = await leader.rlog.appendIdempotent([Buffer.from('z')], { id: 'p', sequence: 5 }).catch((e: unknown) => e);
    expect(gap).toBeInstanceOf(ProducerSequenceError);
    expect(gap).toMatchObject({ problem: 'gap', expected: 2 });
    const unknown = await leader.rlog.appendIdempotent([Buffer.from('z')], { id: 'q', sequence: 3 }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ problem: 'unknown-producer', expected: 0 });

    await until(() => [...c.nodes.values()].every((n) => n.rlog.highestOffset() === 1), 'the records on every node');
    for (const id of ['a', 'b', 'c']) await c.stop(id);
    for (const id of ['a', 'b', 'c']) await c.start(id, false);
    const next = await c.waitForLeader();
    const dup = await retriedOn(next, () => next.rlog.appendIdempotent([Buffer.from('y')], { id: 'p', sequence: 1 }));
    expect(dup).toEqual({ offset: r0.offset + 1, duplicate: true });
    const more = await next.rlog.appendIdempotent([Buffer.from('w')], { id: 'p', sequence: 2 });
    expect(more).toEqual({ offset: 2, duplicate: false });
  }, 60_000);
});

/** The first call on a new leader may be refused while its noop commits. */
async function retriedOn<T>(node: TestNode, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ProducerSequenceError || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
    void node;
  }
}
