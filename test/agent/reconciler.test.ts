import { describe, expect, it } from 'vitest';
import { nextConfigChange, type KnownMember, type ReconcileInput } from '../../src/agent/reconciler.js';

const alive = (id: string, sinceMs = 0): KnownMember => ({ id, name: id.split('/')[0]!, state: 'alive', sinceMs });
const dead = (id: string, sinceMs = 0): KnownMember => ({ ...alive(id, sinceMs), state: 'dead' });
const left = (id: string): KnownMember => ({ ...alive(id), state: 'left' });

function input(over: Partial<ReconcileInput>): ReconcileInput {
  return {
    self: 'a/1',
    config: { voters: ['a/1', 'b/1', 'c/1'], learners: [] },
    match: new Map([['a/1', 100], ['b/1', 100], ['c/1', 100]]),
    lastIndex: 100,
    members: [alive('a/1'), alive('b/1'), alive('c/1')],
    nowMs: 1_000_000,
    reapTimeoutMs: 60_000,
    minVoters: 3,
    promoteLagEntries: 10,
    ...over,
  };
}

describe('nextConfigChange', () => {
  it('does nothing when gossip and the configuration agree', () => {
    expect(nextConfigChange(input({}))).toBeNull();
  });

  it('adds a new member as a learner, then promotes it once caught up', () => {
    const members = [alive('a/1'), alive('b/1'), alive('c/1'), alive('d/1')];
    expect(nextConfigChange(input({ members }))?.change).toEqual({ type: 'addLearner', id: 'd/1' });
    const config = { voters: ['a/1', 'b/1', 'c/1'], learners: ['d/1'] };
    expect(nextConfigChange(input({ members, config, match: new Map([['d/1', 50]]) }))).toBeNull();
    expect(nextConfigChange(input({ members, config, match: new Map([['d/1', 95]]) }))?.change).toEqual({ type: 'promote', id: 'd/1' });
  });

  it('rule 2: a wiped node under a known name is added, the old identity removed, then promoted', () => {
    const members = [alive('a/1'), alive('b/1'), alive('c/2')];
    const step1 = nextConfigChange(input({ members }));
    expect(step1?.change).toEqual({ type: 'addLearner', id: 'c/2' });
    expect(step1?.why).toContain('new identity of c/1');
    const step2 = nextConfigChange(input({ members, config: { voters: ['a/1', 'b/1', 'c/1'], learners: ['c/2'] } }));
    expect(step2?.change).toEqual({ type: 'remove', id: 'c/1' });
    const step3 = nextConfigChange(input({ members, config: { voters: ['a/1', 'b/1'], learners: ['c/2'] }, match: new Map([['c/2', 100]]) }));
    expect(step3?.change).toEqual({ type: 'promote', id: 'c/2' });
  });

  it('rule 13: a dead voter stays until the reap timeout, and never below the floor', () => {
    const members = [alive('a/1'), alive('b/1'), dead('c/1', 990_000)];
    expect(nextConfigChange(input({ members }))).toBeNull();
    const longDead = [alive('a/1'), alive('b/1'), dead('c/1', 0)];
    expect(nextConfigChange(input({ members: longDead }))).toBeNull(); // floor of 3
    const four = { voters: ['a/1', 'b/1', 'c/1', 'd/1'], learners: [] };
    expect(nextConfigChange(input({ members: [...longDead, alive('d/1')], config: four }))?.change).toEqual({ type: 'remove', id: 'c/1' });
    expect(nextConfigChange(input({ members: [...longDead, alive('d/1')], config: four, reapTimeoutMs: null }))).toBeNull();
  });

  it('removes a member that left explicitly, but never the leader itself', () => {
    expect(nextConfigChange(input({ members: [alive('a/1'), alive('b/1'), left('c/1')] }))?.change).toEqual({ type: 'remove', id: 'c/1' });
    expect(nextConfigChange(input({ members: [left('a/1'), alive('b/1'), alive('c/1')] }))).toBeNull();
  });

  it('drops a learner superseded by a newer identity of the same name', () => {
    const config = { voters: ['a/1', 'b/1', 'c/1'], learners: ['d/1'] };
    const members = [alive('a/1'), alive('b/1'), alive('c/1'), dead('d/1'), alive('d/2')];
    expect(nextConfigChange(input({ config, members }))?.change).toEqual({ type: 'remove', id: 'd/1' });
  });
});
