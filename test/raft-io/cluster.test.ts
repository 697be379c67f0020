import { afterEach, describe, expect, it } from 'vitest';
import type { PeerFrame } from '../../src/raft/peer-frames.js';
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

  it('rule 3: a member of the initial configuration that did not bootstrap learns it from the leader', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED);
    await cluster.start('a/1', true);
    await cluster.start('b/1', true);
    await cluster.start('c/1', false); // empty data dir: a joining node
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 10; i++) await leader.rlog.append([Buffer.from(`v${i}`)]);
    const c = cluster.nodes.get('c/1')!;
    await until(() => c.rlog.highestOffset() === 9 && c.node.status().config.voters.length === 3, 'c to catch up with the configuration');
    // c is a real voter: with the leader gone, the two others elect one of themselves.
    await cluster.stop(leader.id);
    const next = await cluster.waitForLeader();
    expect(await next.rlog.append([Buffer.from('after')])).toBe(10);
  });

  it('a compaction queued when the node closes is rejected, never left waiting', async () => {
    cluster = new TestCluster(['a/1'], SEED);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    await leader.rlog.append([Buffer.from('x')]);
    const outcome = leader.node.compact(1).then(
      () => 'resolved',
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    await leader.node.close();
    expect(await outcome).toMatch(/closed/);
  });

  it('answers a produce before telling the followers its commit, and keeps each peer\'s messages in order', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    await leader.rlog.append([Buffer.from('first')]);
    // Raft index of each produce, pushed as soon as the produce resolves.
    const answered: number[] = [];
    const commitOnly: { commit: number; answeredBefore: number[] }[] = [];
    // Per follower: the last index each AppendEntries covers (never lower than the one before).
    const sentTo = new Map<string, number[]>();
    const send = leader.transport.send.bind(leader.transport);
    leader.transport.send = (m: PeerFrame): void => {
      if (m.type === 'AppendEntries') {
        (sentTo.get(m.to) ?? sentTo.set(m.to, []).get(m.to)!).push(m.prevIndex + m.entries.length);
        if (m.entries.length === 0) commitOnly.push({ commit: m.commit, answeredBefore: [...answered] });
      }
      send(m);
    };
    for (let i = 0; i < 50; i++) {
      await leader.rlog.append([Buffer.from(`v${i}`)]);
      answered.push(leader.node.commitIndex());
    }
    // One in flight: each produce's entry is committed by a follower's acknowledgement, and the
    // leader then tells both followers the new commit index in an AppendEntries without entries.
    const told = commitOnly.filter((c) => answered.includes(c.commit));
    expect(told.length).toBeGreaterThanOrEqual(50);
    for (const c of told) expect(c.answeredBefore, `commit ${c.commit} left before its produce was answered`).toContain(c.commit);
    for (const [peer, ends] of sentTo) expect(ends, `AppendEntries sent to ${peer}`).toEqual([...ends].sort((x, y) => x - y));
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

describe(`snapshots = log prefix (seed ${SEED})`, () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('a follower that was down while the leader dropped old segments catches up through InstallSnapshot', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED, { segment: { maxStoreBytes: 8 * 1024, maxIndexBytes: 1024 } });
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const lagging = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await cluster.stop(lagging.id);
    const value = (i: number): Buffer => Buffer.from(`r${i}-`.padEnd(200, 'x'));
    for (let i = 0; i < 300; i += 10) await leader.rlog.append(Array.from({ length: 10 }, (_, j) => value(i + j)));
    // Rule 14: the leader keeps entries an active follower still needs; once the follower has
    // been silent for two election timeouts, retention may pass it.
    await until(() => !leader.node.followerActive(lagging.id), 'the follower to be seen inactive');
    const lowest = await leader.rlog.truncate(250);
    expect(lowest).toBe(250);
    expect(leader.storage.log.segmentCount()).toBeLessThan(5);
    await expect(leader.rlog.read(249)).rejects.toThrow(/gone/);

    await cluster.start(lagging.id, false);
    const back = cluster.nodes.get(lagging.id)!;
    await until(() => back.rlog.highestOffset() === 299, 'the lagging follower to catch up');
    expect(back.rlog.lowestOffset()).toBe(250);
    for (let i = 250; i < 300; i++) expect((await back.rlog.read(i)).value.equals(value(i))).toBe(true);
    // New records keep dense offsets on every node.
    expect(await leader.rlog.append([Buffer.from('next')])).toBe(300);
    await until(() => back.rlog.highestOffset() === 300, 'the new record on the caught-up follower');
    expect((await back.rlog.read(300)).value.toString()).toBe('next');
  });

  it('truncate never passes the commit index or an active follower', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 20; i++) await leader.rlog.append([Buffer.from(`v${i}`)]);
    await until(() => [...cluster!.nodes.values()].every((n) => n.rlog.highestOffset() === 19), 'replication');
    // A margin of 1,000 entries behind active followers keeps everything.
    expect(await leader.rlog.truncate(15, 1000)).toBe(0);
    // Far past the end: clamped to the committed prefix; the tail stays readable.
    const lowest = await leader.rlog.truncate(1_000_000);
    expect(lowest).toBeLessThanOrEqual(20);
    await expect(leader.rlog.readBatch(lowest, { maxRecords: 100, maxBytes: 1 << 20 })).resolves.toBeDefined();
  });
});

describe(`tailing reads on a follower (seed ${SEED})`, () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('waitFor on a follower resolves as soon as the follower commits the record', async () => {
    cluster = new TestCluster(['a/1', 'b/1', 'c/1'], SEED);
    await cluster.startAll();
    const leader = await cluster.waitForLeader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    const waiting = follower.rlog.waitFor(0);
    let done = false;
    void waiting.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    await leader.rlog.append([Buffer.from('tail')]);
    await waiting;
    expect((await follower.rlog.read(0)).value.toString()).toBe('tail');
    const aborted = new AbortController();
    const never = follower.rlog.waitFor(10, aborted.signal);
    aborted.abort();
    await expect(never).rejects.toThrow();
  });
});

describe('start-up without a quorum', () => {
  it('waits and says so in its log', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { pino } = await import('pino');
    const { Writable } = await import('node:stream');
    const { NodeFileSystem } = await import('../../src/log/index.js');
    const { LogStorage } = await import('../../src/raft/log-storage.js');
    const { RaftNode } = await import('../../src/raft/node.js');
    const { TcpTransport } = await import('../../src/raft/tcp-transport.js');
    const { Prng } = await import('../../src/util/prng.js');
    const dir = mkdtempSync(join(tmpdir(), 'replog-noquorum-'));
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) }));
    const storage = await LogStorage.open({ dir, fs: new NodeFileSystem(), logger });
    await storage.initialize(0, { voters: ['a/1', 'b/1', 'c/1'], learners: [] });
    const transport = new TcpTransport({ localId: 'a/1', clusterId: 'x', resolve: () => undefined });
    const node = new RaftNode({
      raft: { id: 'a/1', electionTicks: 5, heartbeatTicks: 1, preVote: true, checkQuorum: true, maxInflightMsgs: 8, maxInflightBytes: 1 << 20, maxMsgBytes: 1 << 16 },
      storage, transport, random: new Prng(1), logger, tickMs: 10, noLeaderReportMs: 100,
    });
    node.start();
    try {
      await until(() => lines.some((l) => l.includes('no leader: waiting for a majority')), 'the no-quorum log line', 5000);
      expect(node.softState().leader).toBeNull();
    } finally {
      await node.close();
      await transport.close();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
