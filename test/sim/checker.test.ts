import { describe, expect, it } from 'vitest';
import { EntryType, type Entry } from '../../src/raft/core/types.js';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import { SafetyChecker } from './checker.js';
import { SimViolation } from './violation.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const entry = (index: number, term: number, data = `e${index}/${term}`): Entry => ({
  index,
  term,
  type: EntryType.Data,
  data: bytes(data),
});

function checker(): SafetyChecker {
  return new SafetyChecker({ seed: 77, step: 12, nowMs: 120 });
}

function violationOf(fn: () => void): SimViolation {
  try {
    fn();
  } catch (err) {
    if (err instanceof SimViolation) return err;
    throw err;
  }
  throw new Error('expected a SimViolation');
}

describe('SafetyChecker', () => {
  it('election safety: two leaders in one term, with the seed and step in the report', () => {
    const c = checker();
    expect(c.observeLeader('n1/a', 3)).toBe(true);
    expect(c.observeLeader('n1/a', 3)).toBe(false);
    expect(c.observeLeader('n2/b', 4)).toBe(true);
    const v = violationOf(() => c.observeLeader('n2/b', 3));
    expect(v.rule).toBe('election safety');
    expect(v.message).toContain('seed=77');
    expect(v.message).toContain('step=12');
  });

  it('state machine safety: a committed entry that changes term or payload', () => {
    const c = checker();
    c.observeCommitted('n1/a', entry(1, 1, 'x'));
    c.observeCommitted('n2/b', entry(1, 1, 'x'));
    expect(violationOf(() => c.observeCommitted('n3/c', entry(1, 2, 'x'))).rule).toBe('state machine safety');
    expect(violationOf(() => c.observeCommitted('n3/c', entry(1, 1, 'y'))).rule).toBe('state machine safety');
    c.observeCommittedTerm('n3/c', 2, 1);
    expect(violationOf(() => c.observeCommittedTerm('n1/a', 2, 3)).rule).toBe('state machine safety');
  });

  it('log matching: the same (index, term) with another payload or another previous term', () => {
    const c = checker();
    c.observeWrite('n1/a', 0, [entry(1, 1), entry(2, 2, 'a')]);
    c.observeWrite('n2/b', 1, [entry(2, 2, 'a')]);
    expect(violationOf(() => c.observeWrite('n3/c', 1, [entry(2, 2, 'b')])).rule).toBe('log matching');
    expect(violationOf(() => c.observeWrite('n3/c', 2, [entry(2, 2, 'a')])).rule).toBe('log matching');
  });

  it('log shape: gaps and decreasing terms inside one write', () => {
    const c = checker();
    expect(violationOf(() => c.observeWrite('n1/a', 0, [entry(1, 1), entry(3, 1)])).rule).toBe('log shape');
    expect(violationOf(() => c.observeWrite('n1/a', 2, [entry(5, 1)])).rule).toBe('log shape');
  });

  it('a committed entry must never be dropped, unless rewritten identically', () => {
    const c = checker();
    c.observeCommitted('n1/a', entry(4, 2));
    c.observeRemoval('n2/b', [entry(4, 2)], () => 2);
    c.observeRemoval('n2/b', [entry(4, 1)], () => undefined);
    expect(violationOf(() => c.observeRemoval('n2/b', [entry(4, 2)], () => undefined)).rule).toBe('committed entry lost');
  });

  it('leader completeness: a new leader lacking a committed entry of an earlier term', () => {
    const c = checker();
    c.observeCommitted('n1/a', entry(1, 1));
    c.observeCommitted('n1/a', entry(2, 1));
    c.checkLeaderCompleteness('n2/b', 2, 2, (i) => (i <= 2 ? 1 : undefined));
    // Entries of the leader's own term do not count; only earlier ones.
    c.observeCommitted('n1/a', entry(3, 3));
    c.checkLeaderCompleteness('n3/c', 3, 2, (i) => (i <= 2 ? 1 : undefined));
    expect(violationOf(() => c.checkLeaderCompleteness('n2/b', 4, 1, (i) => (i <= 1 ? 1 : undefined))).rule).toBe(
      'leader completeness',
    );
    expect(violationOf(() => c.checkLeaderCompleteness('n2/b', 4, 3, () => 2)).rule).toBe('leader completeness');
  });

  it('commit index: never beyond the durable log, never backwards within a life', () => {
    const c = checker();
    c.checkCommitWithinLog('n1/a', 5, 5);
    expect(violationOf(() => c.checkCommitWithinLog('n1/a', 6, 5)).rule).toBe('commit within durable log');
    c.observeCommitIndex('n1/a', 5);
    expect(violationOf(() => c.observeCommitIndex('n1/a', 4)).rule).toBe('commit monotonic');
    c.observeCommitIndex('n1/a', 2, true);
  });

  it('vote safety: one vote per voter and term (repeats to the same candidate are fine)', () => {
    const c = checker();
    c.observeVoteGranted('n1/a', 3, 'n2/b');
    c.observeVoteGranted('n1/a', 3, 'n2/b');
    c.observeVoteGranted('n1/a', 4, 'n3/c');
    expect(violationOf(() => c.observeVoteGranted('n1/a', 3, 'n3/c')).rule).toBe('vote safety');
  });

  it('exposure: a committed entry that an electable log lacks (figure 8), but not a stale one', () => {
    const ids = ['n1/a', 'n2/b', 'n3/c'];
    const logs = ids.map((id) => ({ id, storage: MemoryStorage.bootstrap({ voters: ids, learners: [] }) }));
    const [s1, s2, s3] = logs.map((l) => l.storage) as [MemoryStorage, MemoryStorage, MemoryStorage];
    // n1 led term 2 and got 1/2, 2/2 to n2; n3 led term 3 and wrote 1/3 alone.
    s1.append([entry(1, 2), entry(2, 2)]);
    s2.append([entry(1, 2), entry(2, 2)]);
    s3.append([entry(1, 3)]);
    const c = checker();
    c.watchDurableLogs(() => logs);
    // Counting replicas in term 4 "commits" 2/2: n3 (ends 1/3) lacks it, and n2 (ends 2/2) would elect it.
    c.observeCommitted('n1/a', entry(2, 2));
    const v = violationOf(() => c.checkExposure());
    expect(v.rule).toBe('committed entry exposed');
    expect(v.detail).toContain('n3/c lacks committed 2/2');
    // Once n1 and n2 hold the term-4 entry after it (the correct commit), n3 can no longer win.
    s1.append([entry(3, 4)]);
    s2.append([entry(3, 4)]);
    c.checkExposure();
    c.checkDurableLog(logs[2]!);
    // A log that merely lags (ends before the entry, in an older term) is no danger either.
    s3.append([entry(1, 1)]);
    c.checkDurableLog(logs[2]!);
  });
});
