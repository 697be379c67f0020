import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CompactedError, InvalidArgumentError } from '../../src/errors.js';
import { MemoryStorage, decodeConfig, encodeConfig, EntryType } from '../../src/raft/core/index.js';
import type { Entry } from '../../src/raft/core/index.js';
import { Inflights } from '../../src/raft/core/progress.js';
import { quorumIndex, voteResult } from '../../src/raft/core/quorum.js';
import { bytes } from './cluster.js';

const ent = (index: number, term: number, v = 'x'): Entry => ({ index, term, type: EntryType.Data, data: bytes(v) });
const conf = (index: number, term: number, voters: string[], learners: string[] = []): Entry => ({
  index,
  term,
  type: EntryType.Config,
  data: encodeConfig({ voters, learners }),
});

describe('config codec (rule 3: byte-identical configurations)', () => {
  it('encodes equal configurations to identical bytes whatever the order of ids', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 8 }), (ids) => {
        const voters = ids.slice(0, Math.ceil(ids.length / 2));
        const learners = ids.slice(voters.length);
        const a = encodeConfig({ voters, learners });
        const b = encodeConfig({ voters: [...voters].reverse(), learners: [...learners].reverse() });
        expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
        expect(decodeConfig(a)).toEqual({ voters: [...voters].sort(), learners: [...learners].sort() });
      }),
    );
  });

  it('rejects garbage, unsorted or overlapping lists with a typed error', () => {
    const bad = [
      'not json',
      '{"v":2,"voters":[],"learners":[]}',
      '{"v":1,"voters":["b","a"],"learners":[]}',
      '{"v":1,"voters":["a"],"learners":["a"]}',
      '{"v":1,"voters":[1],"learners":[]}',
    ];
    for (const b of bad) expect(() => decodeConfig(bytes(b))).toThrow(InvalidArgumentError);
    expect(() => decodeConfig(new Uint8Array([0xff, 0xfe]))).toThrow(InvalidArgumentError);
  });
});

describe('MemoryStorage', () => {
  it('bootstraps at index 0 with the configuration and an empty log', () => {
    const s = MemoryStorage.bootstrap({ voters: ['b', 'a'], learners: [] });
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.initialState()).toEqual({
      hardState: { term: 0, vote: null, commit: 0 },
      config: { voters: ['a', 'b'], learners: [] },
      configIndex: 0,
    });
    expect(MemoryStorage.empty().initialState().config).toEqual({ voters: [], learners: [] });
  });

  it('truncates an overlapping suffix on append and tracks configuration entries', () => {
    const s = MemoryStorage.bootstrap({ voters: ['a'], learners: [] });
    s.append([ent(1, 1), conf(2, 1, ['a', 'b']), ent(3, 1)]);
    expect(s.configAt(3)).toEqual({ config: { voters: ['a', 'b'], learners: [] }, configIndex: 2 });
    s.append([ent(2, 2), ent(3, 2)]);
    expect(s.lastIndex()).toBe(3);
    expect(s.term(2)).toBe(2);
    expect(s.configAt(3)).toEqual({ config: { voters: ['a'], learners: [] }, configIndex: 0 });
  });

  it('compacts into a snapshot carrying the configuration at that index; below it is CompactedError', () => {
    const s = MemoryStorage.bootstrap({ voters: ['a'], learners: [] });
    s.append([ent(1, 1), conf(2, 1, ['a', 'b']), ent(3, 2), ent(4, 2)]);
    s.compact(3, bytes('meta'));
    expect(s.snapshot()).toMatchObject({ index: 3, term: 2, configIndex: 2, config: { voters: ['a', 'b'] } });
    expect(s.firstIndex()).toBe(4);
    expect(() => s.term(2)).toThrow(CompactedError);
    expect(() => s.entries(3, 5, 100)).toThrow(CompactedError);
    expect(s.entries(4, 5, 100).map((e) => e.index)).toEqual([4]);
    expect(s.configAt(4).configIndex).toBe(2);
  });

  it('returns at least one entry and stops before maxBytes', () => {
    const s = MemoryStorage.bootstrap({ voters: ['a'], learners: [] });
    s.append([ent(1, 1, 'aaaa'), ent(2, 1, 'bbbb'), ent(3, 1, 'cccc')]);
    expect(s.entries(1, 4, 0).length).toBe(1);
    expect(s.entries(1, 4, 8).length).toBe(2);
    expect(s.entries(1, 4, 1000).length).toBe(3);
  });

  it('applySnapshot restarts the log after the snapshot; clone is independent', () => {
    const s = MemoryStorage.bootstrap({ voters: ['a'], learners: [] });
    s.append([ent(1, 1), ent(2, 1)]);
    s.setHardState({ term: 1, vote: 'a', commit: 2 });
    const c = s.clone();
    s.applySnapshot({ index: 10, term: 3, config: { voters: ['a', 'b'], learners: [] }, configIndex: 9, data: bytes('') });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(3);
    expect(c.lastIndex()).toBe(2);
    expect(c.hardState()).toEqual({ term: 1, vote: 'a', commit: 2 });
    expect(c.initialState().config.voters).toEqual(['a']);
  });
});

describe('quorum and inflights', () => {
  it('finds the majority index and vote outcomes', () => {
    const m = new Map([['a', 5], ['b', 3], ['c', 9]]);
    expect(quorumIndex(['a', 'b', 'c'], (id) => m.get(id) ?? 0)).toBe(5);
    expect(quorumIndex(['a', 'b', 'c', 'd'], (id) => m.get(id) ?? 0)).toBe(3);
    expect(quorumIndex([], () => 7)).toBe(0);
    expect(voteResult(['a', 'b', 'c'], new Map([['a', true], ['b', true]]))).toBe('won');
    expect(voteResult(['a', 'b', 'c'], new Map([['a', true], ['b', false]]))).toBe('pending');
    expect(voteResult(['a', 'b', 'c'], new Map([['b', false], ['c', false]]))).toBe('lost');
    // Votes of non-voters (a learner, a new identity) do not count.
    expect(voteResult(['a', 'b', 'c'], new Map([['a', true], ['x', true]]))).toBe('pending');
  });

  it('bounds in-flight messages by count and bytes', () => {
    const f = new Inflights(3, 100);
    f.add(1, 10);
    f.add(2, 10);
    expect(f.full()).toBe(false);
    f.add(3, 10);
    expect(f.full()).toBe(true);
    f.freeLE(2);
    expect(f.count).toBe(1);
    expect(f.full()).toBe(false);
    f.add(4, 95);
    expect(f.full()).toBe(true);
    f.freeLE(4);
    expect(f.count).toBe(0);
    expect(f.bytes).toBe(0);
  });
});
