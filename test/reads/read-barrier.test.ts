import { afterEach, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/errors.js';
import { decodeMessage, encodeMessage, FRAME_HEADER_BYTES } from '../../src/raft/codec.js';
import type { ReadIndexRequest, ReadIndexResponse } from '../../src/raft/peer-frames.js';
import { TestCluster, until } from '../raft-io/harness.js';

const SEED = Number(process.env.SEED ?? 777);

describe('ReadIndex peer frames', () => {
  const frames: (ReadIndexRequest | ReadIndexResponse)[] = [
    { type: 'ReadIndexRequest', from: 'b/1', to: 'a/1', term: 0, id: 42 },
    { type: 'ReadIndexResponse', from: 'a/1', to: 'b/1', term: 0, id: 42, ok: true, index: 2 ** 40, errorMessage: '', leader: 'a/1' },
    { type: 'ReadIndexResponse', from: 'a/1', to: 'b/1', term: 0, id: 7, ok: false, index: 0, errorMessage: 'not the leader', leader: 'c/1' },
  ];
  for (const f of frames) {
    it(`${f.type} ${f.id} survives a round trip`, () => {
      const bytes = encodeMessage(f);
      expect(bytes.readUInt32BE(0)).toBe(bytes.length - FRAME_HEADER_BYTES);
      expect(decodeMessage(bytes.subarray(FRAME_HEADER_BYTES))).toEqual(f);
    });
  }
  it('a truncated ReadIndexResponse is malformed, not a crash', () => {
    const bytes = encodeMessage(frames[1]!);
    expect(() => decodeMessage(bytes.subarray(FRAME_HEADER_BYTES, bytes.length - 3))).toThrow(/malformed/);
  });
});

describe(`linearizable reads over real nodes (seed ${SEED})`, () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('after the barrier a follower has committed everything the leader had acknowledged', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const followers = [...cluster.nodes.values()].filter((n) => n !== leader);
    await until(() => followers.every((f) => f.node.softState().leader === leader.id), 'the followers to know the leader');
    for (let i = 0; i < 30; i++) {
      const offset = await leader.rlog.append([Buffer.from(`v${i}`)]);
      const follower = followers[i % followers.length]!;
      await follower.rlog.readBarrier();
      // No wait, no retry: the record is readable on the follower right after the barrier.
      expect((await follower.rlog.read(offset)).value.toString()).toBe(`v${i}`);
    }
    await leader.rlog.readBarrier();
    expect(leader.rlog.highestOffset()).toBe(29);
  });

  it('the barrier honours an abort signal and leaves the node usable', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await until(() => follower.node.softState().leader === leader.id, 'the follower to know the leader');
    const ac = new AbortController();
    ac.abort(new Error('caller gave up'));
    await expect(follower.rlog.readBarrier(ac.signal)).rejects.toThrow('caller gave up');
    await expect(leader.rlog.readBarrier(ac.signal)).rejects.toThrow('caller gave up');
    await follower.rlog.readBarrier();
  });

  it('with no leader the barrier fails UNAVAILABLE', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const survivor = [...cluster.nodes.values()].find((n) => n !== leader)!;
    for (const n of [...cluster.nodes.values()]) if (n !== survivor) await cluster.stop(n.id);
    await until(() => survivor.node.softState().leader === null, 'the survivor to lose its leader');
    const err = await survivor.rlog.readBarrier().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/no leader/);
  });
});
