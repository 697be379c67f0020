import { describe, expect, it } from 'vitest';
import { NotLeaderError, UnavailableError } from '../../src/errors.js';
import { MemoryStorage, RaftCore, RaftRefusedError, EntryType } from '../../src/raft/core/index.js';
import type { Entry, Message, RaftOptions, Ready } from '../../src/raft/core/index.js';
import { Prng } from '../../src/util/prng.js';
import { Cluster, bytes, defaultOptions } from './cluster.js';

const data = (v: string) => ({ type: EntryType.Data, data: bytes(v) });
const ent = (index: number, term: number): Entry => ({ index, term, type: EntryType.Data, data: bytes('e') });

/** A 3-node cluster (or n) with node 1 elected and its noop committed everywhere. */
function elected(n = 3, opts: Partial<RaftOptions> = {}, seed = 1): Cluster {
  const c = new Cluster(seed);
  const ids = Array.from({ length: n }, (_, i) => String(i + 1));
  c.bootstrap(ids, ids, [], opts);
  c.core('1').campaign();
  c.stabilize();
  expect(c.leader()).toBe('1');
  return c;
}

const storages = new WeakMap<RaftCore, MemoryStorage>();

/** A single core over `storage`, for feeding crafted messages. */
function lone(storage: MemoryStorage, opts: Partial<RaftOptions> = {}): RaftCore {
  const core = new RaftCore({ ...defaultOptions('1'), ...opts }, storage, new Prng(1));
  storages.set(core, storage);
  return core;
}

/** Takes a Ready, persists it the way a driver does, and advances. */
function drain(core: RaftCore): Ready {
  const rd = core.ready();
  const storage = storages.get(core);
  if (storage !== undefined) {
    if (rd.snapshot) storage.applySnapshot(rd.snapshot);
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
  }
  core.advance(rd);
  return rd;
}

/** Ticks the given nodes one at a time and delivers everything until one of them leads. */
function electAmong(c: Cluster, ids: string[]): string {
  for (let round = 0; round < 200; round++) {
    for (const id of ids) c.tick(id, 1);
    c.stabilize(ids);
    const l = ids.find((id) => c.core(id).status().role === 'leader');
    if (l !== undefined) return l;
  }
  throw new Error(`no leader among ${ids.join(',')} (seed ${c.seed})`);
}

function allMessages(rd: Ready): Message[] {
  return [...rd.messages, ...rd.messagesAfterPersist];
}

describe('election', () => {
  it('campaigns after a randomized timeout in [electionTicks, 2 * electionTicks)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const core = new RaftCore(defaultOptions('1'), MemoryStorage.bootstrap({ voters: ['1', '2', '3'], learners: [] }), new Prng(seed));
      let t = 0;
      while (!core.hasReady()) {
        core.tick();
        t++;
        if (t > 100) throw new Error(`seed ${seed}: never campaigned`);
      }
      expect(t, `seed ${seed}`).toBeGreaterThanOrEqual(10);
      expect(t, `seed ${seed}`).toBeLessThan(20);
      seen.add(t);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it('sends pre-votes at once but a real RequestVote only after the vote is persisted', () => {
    const c = new Cluster();
    c.bootstrap(['1', '2', '3'], ['1', '2', '3'], []);
    const core = c.core('1');
    core.campaign();
    const pre = core.ready();
    expect(pre.hardState).toBeNull();
    expect(pre.messages.map((m) => m.type)).toEqual(['RequestVote', 'RequestVote']);
    core.advance(pre);
    core.step({ type: 'RequestVoteResponse', from: '2', to: '1', term: 1, pre: true, granted: true });
    const rd = core.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: '1', commit: 0 });
    expect(rd.messages).toEqual([]);
    expect(rd.messagesAfterPersist.every((m) => m.type === 'RequestVote' && !m.pre)).toBe(true);
  });

  it('never votes twice in a term, and only for an up-to-date log', () => {
    const s = MemoryStorage.bootstrap({ voters: ['1', '2', '3'], learners: [] });
    s.append([ent(1, 1), ent(2, 2)]);
    const core = lone(s, { preVote: false, checkQuorum: false });
    core.step({ type: 'RequestVote', from: '2', to: '1', term: 3, pre: false, lastIndex: 1, lastTerm: 2, transfer: false });
    core.step({ type: 'RequestVote', from: '2', to: '1', term: 3, pre: false, lastIndex: 1, lastTerm: 1, transfer: false });
    core.step({ type: 'RequestVote', from: '3', to: '1', term: 3, pre: false, lastIndex: 5, lastTerm: 2, transfer: false });
    core.step({ type: 'RequestVote', from: '3', to: '1', term: 3, pre: false, lastIndex: 2, lastTerm: 2, transfer: false });
    const rd = drain(core);
    const grants = rd.messagesAfterPersist.map((m) => (m.type === 'RequestVoteResponse' ? `${m.to}:${m.granted}` : ''));
    // 2's log (1/2) is behind ours (2/2): refused; 3 is then granted once... no: 3 may vote only once.
    expect(grants).toEqual(['2:false', '2:false', '3:true', '3:true']);
    expect(rd.hardState).toEqual({ term: 3, vote: '3', commit: 0 });
    core.step({ type: 'RequestVote', from: '2', to: '1', term: 3, pre: false, lastIndex: 9, lastTerm: 3, transfer: false });
    const again = drain(core);
    expect(again.messagesAfterPersist).toMatchObject([{ type: 'RequestVoteResponse', to: '2', granted: false }]);
  });

  it('a stale leader learns the newer term from the answer to its AppendEntries and steps down', () => {
    const c = elected();
    c.partition([['1'], ['2', '3']]);
    electAmong(c, ['2', '3']);
    c.heal();
    c.core('1').propose([data('late')]);
    c.stabilize();
    expect(c.core('1').status().role).toBe('follower');
    expect(c.core('1').status().term).toBe(c.core('2').status().term);
    expect(c.checkCommitted()).toEqual([]);
  });

  it('rule 12: with CheckQuorum a follower that heard from its leader ignores a higher-term vote, unless it is a transfer', () => {
    const c = elected(3, { preVote: false });
    const f = c.core('2');
    const term = f.status().term;
    f.step({ type: 'RequestVote', from: '3', to: '2', term: term + 1, pre: false, lastIndex: 9, lastTerm: 9, transfer: false });
    expect(f.status().term).toBe(term);
    expect(allMessages(f.ready())).toEqual([]);
    f.step({ type: 'RequestVote', from: '3', to: '2', term: term + 1, pre: false, lastIndex: 9, lastTerm: 9, transfer: true });
    expect(f.status().term).toBe(term + 1);
    expect(allMessages(f.ready())).toMatchObject([{ type: 'RequestVoteResponse', granted: true }]);
  });

  it('rule 2: a new identity is no member: it never campaigns, ignores mail for the old id, and its votes do not count', () => {
    const c = elected();
    const fresh = c.add('3b', MemoryStorage.empty());
    for (let i = 0; i < 100; i++) fresh.core.tick();
    expect(fresh.core.hasReady()).toBe(false);
    fresh.core.step({ type: 'TimeoutNow', from: '1', to: '3b', term: 1 });
    fresh.core.step({ type: 'RequestVote', from: '2', to: '3', term: 5, pre: false, lastIndex: 9, lastTerm: 9, transfer: false });
    expect(fresh.core.status().role).toBe('follower');
    expect(allMessages(fresh.core.ready()).filter((m) => m.type === 'RequestVote')).toEqual([]);
    // A candidate of config {1,2,3} does not count 3b's vote.
    const cand = lone(MemoryStorage.bootstrap({ voters: ['1', '2', '3'], learners: [] }), { preVote: false });
    cand.campaign();
    cand.step({ type: 'RequestVoteResponse', from: '3b', to: '1', term: 1, pre: false, granted: true });
    expect(cand.status().role).toBe('candidate');
    cand.step({ type: 'RequestVoteResponse', from: '3', to: '1', term: 1, pre: false, granted: true });
    expect(cand.status().role).toBe('leader');
  });
});

describe('proposals and commit', () => {
  it('a follower refuses proposals with the leader id; with no leader known the id is absent', () => {
    const c = elected();
    const err = (() => {
      try {
        c.core('2').propose([data('x')]);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderId).toBe('1');
    const fresh = lone(MemoryStorage.bootstrap({ voters: ['1', '2', '3'], learners: [] }));
    expect(() => fresh.propose([data('x')])).toThrow(NotLeaderError);
    expect(() => fresh.readIndex(1)).toThrow(NotLeaderError);
  });

  it('the leader counts itself only for entries it has persisted (after advance)', () => {
    const c = elected();
    c.partition([['1', '2'], ['3']]);
    const leader = c.core('1');
    const { index } = leader.propose([data('x')]);
    const rd = leader.ready();
    // Replicate to 2 before the leader's own write is done; 2 alone is no majority of 3.
    for (const m of rd.messages) if (m.to === '2') c.core('2').step(m);
    c.processReady('2');
    for (const m of c.queue.splice(0)) if (m.to === '1') leader.step(m);
    // {2} + the leader would be a majority, but the leader has not persisted the entry yet.
    expect(leader.status().commit).toBe(index - 1);
    c.node('1').storage.append(rd.entries);
    leader.advance(rd);
    expect(leader.status().commit).toBe(index);
  });

  it('rule 6: a proposal is acknowledged by (index, term); a new leader may put another term there', () => {
    const c = elected(3, {}, 3);
    c.partition([['1'], ['2', '3']]);
    const p = c.core('1').propose([data('lost')]);
    c.stabilize(['1']);
    const leader = electAmong(c, ['2', '3']);
    c.core(leader).propose([data('won')]);
    c.heal();
    c.tick(leader, 1);
    c.stabilize();
    const n1 = c.node('1');
    expect(n1.commitIndex).toBeGreaterThanOrEqual(p.index);
    expect(n1.storage.term(p.index)).not.toBe(p.term);
  });

  it('rule 5: a follower commits at most the last index the message verified', () => {
    const s = MemoryStorage.bootstrap({ voters: ['1', '2', '3'], learners: [] });
    s.append([ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 1)]);
    s.setHardState({ term: 2, vote: null, commit: 1 });
    const f = lone(s);
    // The leader of term 2 verified only up to index 2; our 3 and 4 (term 1) are unverified.
    f.step({ type: 'AppendEntries', from: '2', to: '1', term: 2, prevIndex: 1, prevTerm: 1, entries: [ent(2, 1)], commit: 4 });
    expect(f.status().commit).toBe(2);
    f.step({ type: 'Heartbeat', from: '2', to: '1', term: 2, commit: 3, readContext: 0 });
    expect(f.status().commit).toBe(3);
  });

  it('fast back-off hints: too short -> lastIndex+1; conflict -> first index of the conflicting term', () => {
    const s = MemoryStorage.bootstrap({ voters: ['1', '2', '3'], learners: [] });
    s.append([ent(1, 1), ent(2, 2), ent(3, 2), ent(4, 2)]);
    const f = lone(s);
    f.step({ type: 'AppendEntries', from: '2', to: '1', term: 5, prevIndex: 9, prevTerm: 5, entries: [], commit: 0 });
    f.step({ type: 'AppendEntries', from: '2', to: '1', term: 5, prevIndex: 4, prevTerm: 3, entries: [], commit: 0 });
    const rd = drain(f);
    expect(rd.messagesAfterPersist).toMatchObject([
      { type: 'AppendEntriesResponse', success: false, index: 9, conflictIndex: 5, conflictTerm: 0 },
      { type: 'AppendEntriesResponse', success: false, index: 4, conflictIndex: 2, conflictTerm: 2 },
    ]);
  });

  it('the leader skips a whole conflicting term in one round trip', () => {
    const c = new Cluster();
    c.bootstrap(['1', '2', '3'], ['1', '2', '3'], [], { preVote: false });
    // 3 holds a long tail of term-2 entries nobody else has.
    c.node('3').storage.append([ent(1, 1), ...Array.from({ length: 20 }, (_, i) => ent(i + 2, 2))]);
    c.node('3').storage.setHardState({ term: 2, vote: null, commit: 0 });
    c.restart('3');
    c.node('1').storage.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
    c.node('1').storage.setHardState({ term: 2, vote: null, commit: 0 });
    c.restart('1');
    c.core('1').campaign();
    const lines = c.stabilize();
    const rejects = lines.filter((l) => l.startsWith('3->1') && l.includes('reject'));
    expect(rejects.length).toBeLessThanOrEqual(2);
    expect(c.checkCommitted()).toEqual([]);
    expect(c.node('3').storage.lastIndex()).toBe(4);
  });
});

describe('flow control', () => {
  it('pipelines at most maxInflightMsgs AppendEntries to an unresponsive follower in replicate state', () => {
    const c = elected(3, { maxInflightMsgs: 2 });
    c.partition([['1', '2'], ['3']]);
    for (let i = 0; i < 5; i++) c.core('1').propose([data(`v${i}`)]);
    c.processReady('1');
    const to3 = c.queue.filter((m) => m.to === '3' && m.type === 'AppendEntries');
    expect(to3.length).toBe(2);
  });

  it('bounds the bytes in flight and the entries per message', () => {
    const c = elected(3, { maxInflightBytes: 10, maxMsgBytes: 4, maxInflightMsgs: 100 });
    c.partition([['1', '2'], ['3']]);
    c.core('1').propose(Array.from({ length: 10 }, (_, i) => data(`abc${i}`)));
    c.processReady('1');
    const to3 = c.queue.filter((m) => m.to === '3' && m.type === 'AppendEntries');
    const sizes = to3.map((m) => (m.type === 'AppendEntries' ? m.entries.length : 0));
    expect(sizes.every((n) => n === 1)).toBe(true);
    expect(to3.length).toBe(3); // 4 + 4 bytes < 10, the third fills the window
    c.heal();
    c.stabilize();
    expect(c.node('3').storage.lastIndex()).toBe(11);
  });

  it('each entry appears in exactly one Ready, even without advance in between', () => {
    const c = elected();
    const l = c.core('1');
    l.propose([data('a')]);
    const r1 = l.ready();
    l.propose([data('b')]);
    const r2 = l.ready();
    expect(r1.entries.map((e) => e.index)).toEqual([2]);
    expect(r2.entries.map((e) => e.index)).toEqual([3]);
  });
});

describe('InstallSnapshot (rule 9)', () => {
  const snap = (index: number, term: number) => ({
    index,
    term,
    config: { voters: ['1', '2', '3'], learners: [] },
    configIndex: 0,
    data: bytes('base'),
  });
  const follower = () => {
    const s = MemoryStorage.bootstrap({ voters: ['1', '2', '3'], learners: [] });
    s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)]);
    s.setHardState({ term: 2, vote: null, commit: 2 });
    return lone(s);
  };

  it('ignores a snapshot at or below the commit index', () => {
    const f = follower();
    f.step({ type: 'InstallSnapshot', from: '2', to: '1', term: 2, snapshot: snap(2, 1) });
    const rd = drain(f);
    expect(rd.snapshot).toBeNull();
    expect(rd.messagesAfterPersist).toMatchObject([{ type: 'AppendEntriesResponse', success: true, index: 2 }]);
    expect(f.status()).toMatchObject({ commit: 2, lastIndex: 4 });
  });

  it('keeps the suffix when the log already holds (X, term X)', () => {
    const f = follower();
    f.step({ type: 'InstallSnapshot', from: '2', to: '1', term: 2, snapshot: snap(3, 2) });
    const rd = drain(f);
    expect(rd.snapshot).toBeNull();
    expect(f.status()).toMatchObject({ commit: 3, lastIndex: 4 });
  });

  it('otherwise hands the snapshot to the driver and restarts the log after it', () => {
    const f = follower();
    const other = { ...snap(6, 3), config: { voters: ['1', '2', '3'], learners: ['4'] }, configIndex: 5 };
    f.step({ type: 'InstallSnapshot', from: '2', to: '1', term: 3, snapshot: other });
    const rd = drain(f);
    expect(rd.snapshot).toEqual(other);
    expect(rd.commitIndex).toBe(6);
    expect(rd.messagesAfterPersist).toMatchObject([{ type: 'AppendEntriesResponse', success: true, index: 6 }]);
    expect(f.status()).toMatchObject({ commit: 6, lastIndex: 6, config: other.config });
  });
});

describe('config changes and transfer (rules 4 and 11)', () => {
  it('refuses a second change while one is uncommitted, and a transfer while a change is pending', () => {
    const c = elected();
    const l = c.core('1');
    l.proposeConfigChange({ type: 'addLearner', id: '4' });
    expect(() => l.proposeConfigChange({ type: 'addLearner', id: '5' })).toThrow(RaftRefusedError);
    expect(() => l.transferLeadership('2')).toThrow(expect.objectContaining({ reason: 'config-pending' }) as Error);
    c.stabilize();
    l.transferLeadership('2');
    expect(() => l.propose([data('x')])).toThrow(UnavailableError);
  });

  it('refuses removing the last voter and promoting a lagging learner', () => {
    const c = new Cluster();
    c.bootstrap(['1'], ['1'], [], { promoteLagEntriesMax: 0 });
    c.core('1').campaign();
    c.stabilize();
    expect(() => c.core('1').proposeConfigChange({ type: 'remove', id: '1' })).toThrow(
      expect.objectContaining({ reason: 'last-voter' }) as Error,
    );
    c.core('1').proposeConfigChange({ type: 'addLearner', id: '2' });
    c.stabilize();
    expect(() => c.core('1').proposeConfigChange({ type: 'promote', id: '2' })).toThrow(
      expect.objectContaining({ reason: 'target-lagging' }) as Error,
    );
  });

  it('learners ignore TimeoutNow and never campaign', () => {
    const c = elected();
    c.add('4', MemoryStorage.bootstrap({ voters: ['1', '2', '3'], learners: ['4'] }));
    const learner = c.core('4');
    learner.step({ type: 'TimeoutNow', from: '1', to: '4', term: 1 });
    for (let i = 0; i < 100; i++) learner.tick();
    expect(learner.status()).toMatchObject({ role: 'learner', term: 1 });
    expect(allMessages(learner.ready())).toEqual([]);
  });

  it('a config entry removed by truncation stops being in force (rule 4)', () => {
    const s = MemoryStorage.bootstrap({ voters: ['1', '2', '3'], learners: [] });
    const f = lone(s);
    const confEntry: Entry = { index: 1, term: 1, type: EntryType.Config, data: new TextEncoder().encode('{"v":1,"voters":["1","2","3"],"learners":["9"]}') };
    f.step({ type: 'AppendEntries', from: '2', to: '1', term: 1, prevIndex: 0, prevTerm: 0, entries: [confEntry], commit: 0 });
    expect(f.status().config.learners).toEqual(['9']);
    f.step({ type: 'AppendEntries', from: '3', to: '1', term: 2, prevIndex: 0, prevTerm: 0, entries: [ent(1, 2)], commit: 0 });
    expect(f.status().config).toEqual({ voters: ['1', '2', '3'], learners: [] });
  });
});
