import { describe, expect, it } from 'vitest';
import { clusterIdOf, decideStart } from '../../src/agent/bootstrap.js';

describe('decideStart (rule 3)', () => {
  const empty = (id: string) => ({ id });

  it('waits until exactly N empty members are known, then every one derives the same configuration', () => {
    expect(decideStart('a/1', [empty('a/1'), empty('b/1')], 3).type).toBe('wait');
    const all = [empty('c/1'), empty('a/1'), empty('b/1')];
    const fromA = decideStart('a/1', all, 3);
    const fromC = decideStart('c/1', [...all].reverse(), 3);
    expect(fromA).toEqual(fromC);
    expect(fromA).toMatchObject({ type: 'bootstrap', config: { voters: ['a/1', 'b/1', 'c/1'], learners: [] } });
  });

  it('does not bootstrap with more members than expected', () => {
    const d = decideStart('a/1', ['a/1', 'b/1', 'c/1', 'd/1'].map(empty), 3);
    expect(d.type).toBe('wait');
  });

  it('joins instead when any member already belongs to a cluster (a wiped node never bootstraps)', () => {
    const peers = [empty('a/2'), { id: 'b/1', cluster: 'x', initialOffset: 5 }, empty('c/1')];
    expect(decideStart('a/2', peers, 3)).toEqual({ type: 'join', clusterId: 'x', initialOffset: 5 });
    expect(decideStart('a/2', peers, null)).toEqual({ type: 'join', clusterId: 'x', initialOffset: 5 });
  });

  it('refuses to choose between two clusters', () => {
    const peers = [empty('a/1'), { id: 'b/1', cluster: 'x', initialOffset: 0 }, { id: 'c/1', cluster: 'y', initialOffset: 0 }];
    expect(decideStart('a/1', peers, 3).type).toBe('wait');
  });

  it('cluster ids depend on the configuration only', () => {
    expect(clusterIdOf({ voters: ['b', 'a'], learners: [] })).toBe(clusterIdOf({ voters: ['a', 'b'], learners: [] }));
    expect(clusterIdOf({ voters: ['a'], learners: [] })).not.toBe(clusterIdOf({ voters: ['a', 'b'], learners: [] }));
  });
});
