import { describe, expect, it } from 'vitest';
import { nextConfigChange, type KnownMember } from '../../src/agent/reconciler.js';
import { RemovedMembers, removedMembersMax } from '../../src/agent/removed-members.js';
import { renderStatus } from '../../src/cli/status-view.js';
import type { ClusterStatusView, NodeStatusView } from '../../src/client/admin-client.js';

const uuidA = '4f6c1a2b-0000-4000-8000-000000000001';
const uuidB = '99887766-0000-4000-8000-000000000002';

describe('RemovedMembers', () => {
  it('remembers a removal by name and uuid prefix: a wiped node (new uuid) is not on the list', () => {
    const r = new RemovedMembers();
    r.add(`n2/${uuidA}`, 40);
    expect(r.has(`n2/${uuidA}`)).toBe(true);
    expect(r.has(`n2/${uuidB}`)).toBe(false);
    expect(r.encode(200)).toBe('n2/4f6c1a2b@40');
  });

  it('spreads through tags: merge takes newer entries, ignores malformed ones, and never revives a dropped one', () => {
    const a = new RemovedMembers();
    a.add(`n2/${uuidA}`, 40);
    const b = new RemovedMembers();
    expect(b.merge(`${a.encode(200)},garbage,@5,x@-1,y@1e400`)).toBe(true);
    expect(b.has(`n2/${uuidA}`)).toBe(true);
    expect(b.keys()).toEqual(['n2/4f6c1a2b']);
    expect(b.merge(a.encode(200))).toBe(false);
    // n2 is a member again (added back) as of commit 50 >= 40: dropped, and the stale tag cannot bring it back.
    expect(b.prune({ voters: ['n1/x', `n2/${uuidA}`], learners: [] }, 50)).toBe(true);
    expect(b.has(`n2/${uuidA}`)).toBe(false);
    expect(b.merge('n2/4f6c1a2b@40')).toBe(false);
    // A later removal (a higher index) counts again.
    expect(b.merge('n2/4f6c1a2b@60')).toBe(true);
  });

  it('is not pruned while this node has not seen the removal commit (its config still lists the member)', () => {
    const r = new RemovedMembers();
    r.add(`n2/${uuidA}`, 40);
    expect(r.prune({ voters: ['n1/x', `n2/${uuidA}`], learners: [] }, 39)).toBe(false);
    expect(r.prune({ voters: ['n1/x'], learners: [] }, 1000)).toBe(false);
    expect(r.has(`n2/${uuidA}`)).toBe(true);
  });

  it('is bounded (oldest go first) and its tag fits the room given', () => {
    const r = new RemovedMembers();
    for (let i = 0; i < removedMembersMax + 3; i++) r.add(`node-${i}/${uuidA}`, 100 + i);
    expect(r.keys()).toHaveLength(removedMembersMax);
    expect(r.has(`node-0/${uuidA}`)).toBe(false);
    expect(r.has(`node-${removedMembersMax + 2}/${uuidA}`)).toBe(true);
    const tag = r.encode(60);
    expect(tag.length).toBeLessThanOrEqual(60);
    expect(tag.startsWith(`node-${removedMembersMax + 2}/4f6c1a2b@`)).toBe(true);
  });

  it('the reconciler does not add back an identity an operator removed, but adds a new one of the same name', () => {
    const alive = (id: string): KnownMember => ({ id, name: id.split('/')[0]!, state: 'alive', sinceMs: 0 });
    const r = new RemovedMembers();
    r.add(`c/${uuidA}`, 10);
    const input = {
      self: 'a/1',
      config: { voters: ['a/1', 'b/1'], learners: [] },
      match: new Map([['a/1', 100], ['b/1', 100]]),
      lastIndex: 100,
      nowMs: 0,
      reapTimeoutMs: null,
      minVoters: 3,
      promoteLagEntries: 10,
      isRemoved: (id: string) => r.has(id),
    };
    expect(nextConfigChange({ ...input, members: [alive('a/1'), alive('b/1'), alive(`c/${uuidA}`)] })).toBeNull();
    expect(nextConfigChange({ ...input, members: [alive('a/1'), alive('b/1'), alive(`c/${uuidB}`)] })?.change).toEqual({ type: 'addLearner', id: `c/${uuidB}` });
  });
});

describe('replog status table', () => {
  const node = (name: string, over: Partial<NodeStatusView>): NodeStatusView => ({
    id: `${name}/${uuidA}`,
    name,
    rpcAddr: '127.0.0.1:1',
    role: 'follower',
    term: 2,
    commitIndex: 0,
    lastIndex: 0,
    matchIndex: 0,
    lagEntries: 0,
    reachable: true,
    voter: true,
    lowestOffset: 0,
    highestOffset: 0,
    appendedRecords: 0,
    selfReported: true,
    ...over,
  });
  const view = (commit: number, appended: number, n2: Partial<NodeStatusView> = {}): ClusterStatusView => ({
    answeredBy: `n1/${uuidA}`,
    leaderId: `n1/${uuidA}`,
    term: 2,
    nodes: [node('n1', { role: 'leader', commitIndex: commit, appendedRecords: appended }), node('n2', { commitIndex: commit - 5, lagEntries: 5, ...n2 })],
  });

  it('computes entries/s and records/s from two samples, and marks what the leader cannot know', () => {
    const first = { view: view(100, 50), atMs: 1_000 };
    const second = { view: view(300, 250, { reachable: false, selfReported: false, role: 'unknown' }), atMs: 3_000 };
    const lines = renderStatus(second, first).split('\n');
    expect(lines[0]).toContain('leader n1 (127.0.0.1:1)');
    expect(lines[0]).toContain('records/s 100');
    expect(lines[2]?.split(/\s+/)).toEqual(['NAME', 'ID', 'ADDRESS', 'ROLE', 'VOTER', 'TERM', 'COMMIT', 'LAST', 'MATCH', 'LAG', 'REACHABLE', 'ENTRIES/S', 'LOWEST', 'HIGHEST']);
    expect(lines[3]?.split(/\s+/)).toEqual(['n1', '4f6c1a2b', '127.0.0.1:1', 'leader', 'yes', '2', '300', '0', '0', '0', 'yes', '100', '0', '0']);
    expect(lines[4]?.split(/\s+/)).toEqual(['n2', '4f6c1a2b', '127.0.0.1:1', 'unknown', 'yes', '?', '?', '?', '0', '5', 'no', '-', '?', '?']);
    expect(renderStatus(first, undefined)).toContain('records/s -');
  });
});
