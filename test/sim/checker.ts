import type { Entry, NodeId } from '../../src/raft/core/types.js';
import { exposureOf, findExposure, type DurableLog, type Exposure } from './exposure-check.js';
import { violation, type SimClock } from './violation.js';

interface WrittenEntry {
  prevTerm: number | undefined;
  type: number;
  data: Uint8Array;
}

interface CommittedEntry {
  term: number;
  /** Null when only the term is known (the entry was committed through a snapshot). */
  data: Uint8Array | null;
}

/** Terms below this bound (2^20) keep (index, term) keys exact as numbers. */
const TERM_KEY_SPAN = 1_048_576;

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The Raft safety properties, checked incrementally as the simulator observes each node:
 * election safety, log matching, leader completeness, state machine safety (committed entries
 * never change or disappear), commit within the durable log. Every violation throws a
 * SimViolation naming the seed and the step.
 *
 * Log matching is checked when entries are written: every (index, term) ever written anywhere must
 * carry the same payload and follow the same previous term; by induction two logs that hold the
 * same (index, term) then hold the same prefix.
 *
 * Two checks look at causes rather than consequences: vote safety (a server grants at most one
 * vote per term, even across crashes) and committed-entry exposure (exposure-check.ts: no durable
 * log that lacks a committed entry could win an election, whatever the network did next). Both hold
 * at every instant in a correct Raft; they catch a lost vote or a figure-8 commit at once, instead
 * of only when a rare later schedule turns it into two leaders or a lost entry.
 */
export class SafetyChecker {
  private readonly leaders = new Map<number, NodeId>();
  /** `voter@term` -> the candidate that voter granted its vote to in that term. */
  private readonly votes = new Map<string, NodeId>();
  private durableLogs: () => readonly DurableLog[] = () => [];
  private readonly written = new Map<number, WrittenEntry>();
  private readonly committed: (CommittedEntry | undefined)[] = [];
  private readonly commitByNode = new Map<NodeId, number>();
  private maxCommittedIndex = 0;

  constructor(private readonly clock: SimClock) {}

  /** Highest index known committed anywhere. */
  get committedIndex(): number {
    return this.maxCommittedIndex;
  }

  committedTerm(index: number): number | undefined {
    return this.committed[index]?.term;
  }

  committedEntry(index: number): CommittedEntry | undefined {
    return this.committed[index];
  }

  /** Election safety. Returns true the first time `id` is seen leading `term`. */
  observeLeader(id: NodeId, term: number): boolean {
    const known = this.leaders.get(term);
    if (known === id) return false;
    if (known !== undefined) {
      throw violation(this.clock, 'election safety', `two leaders in term ${term}: ${known} and ${id}`);
    }
    this.leaders.set(term, id);
    return true;
  }

  /** Vote safety: `voter` granted its (real, not pre-) vote of `term` to `candidate`. */
  observeVoteGranted(voter: NodeId, term: number, candidate: NodeId): void {
    const key = `${voter}@${term}`;
    const known = this.votes.get(key);
    if (known === undefined) {
      this.votes.set(key, candidate);
      return;
    }
    if (known !== candidate) {
      throw violation(this.clock, 'vote safety', `${voter} voted for ${known} and then for ${candidate} in term ${term}`);
    }
  }

  /** The durable logs of every node (crashed ones included), for the exposure check. */
  watchDurableLogs(logs: () => readonly DurableLog[]): void {
    this.durableLogs = logs;
  }

  /** Exposure of the highest committed entry, against every durable log (after commits). */
  checkExposure(): void {
    const index = this.maxCommittedIndex;
    const c = this.committed[index];
    if (c === undefined) return;
    const e = findExposure(index, c.term, this.durableLogs());
    if (e !== null) throw this.exposed(e);
  }

  /** Exposure of the highest committed entry, against one durable log that just changed. */
  checkDurableLog(log: DurableLog): void {
    const index = this.maxCommittedIndex;
    const c = this.committed[index];
    if (c === undefined) return;
    const e = exposureOf(log, index, c.term, this.durableLogs());
    if (e !== null) throw this.exposed(e);
  }

  private exposed(e: Exposure): Error {
    return violation(
      this.clock,
      'committed entry exposed',
      `${e.id} lacks committed ${e.index}/${e.term} (holds ${e.held ?? 'none'}) with its durable log ending at ` +
        `${e.end.index}/${e.end.term}, yet ${e.electors.length} of ${e.voters} voters (${e.electors.join(' ')}) ` +
        'hold logs no more up to date: an election could overwrite the entry (figure 8)',
    );
  }

  /** Log matching: `entries` are about to be written by `id` after an entry of term `prevTerm`. */
  observeWrite(id: NodeId, prevTerm: number | undefined, entries: readonly Entry[]): void {
    let prev = prevTerm;
    let prevIndex: number | undefined;
    for (const e of entries) {
      if (prevIndex !== undefined && e.index !== prevIndex + 1) {
        throw violation(this.clock, 'log shape', `${id} writes index ${e.index} after ${prevIndex}`);
      }
      if (prev !== undefined && e.term < prev) {
        throw violation(this.clock, 'log shape', `${id} writes ${e.index}/${e.term} after term ${prev}`);
      }
      this.matchWritten(id, prev, e);
      prev = e.term;
      prevIndex = e.index;
    }
  }

  private matchWritten(id: NodeId, prevTerm: number | undefined, e: Entry): void {
    if (e.term >= TERM_KEY_SPAN) throw violation(this.clock, 'simulator limit', `term ${e.term} too large`);
    const key = e.index * TERM_KEY_SPAN + e.term;
    const known = this.written.get(key);
    if (known === undefined) {
      this.written.set(key, { prevTerm, type: e.type, data: e.data });
      return;
    }
    if (known.type !== e.type || !bytesEqual(known.data, e.data)) {
      throw violation(this.clock, 'log matching', `${id} writes a different payload at ${e.index}/${e.term}`);
    }
    if (known.prevTerm !== undefined && prevTerm !== undefined && known.prevTerm !== prevTerm) {
      throw violation(
        this.clock,
        'log matching',
        `${id} writes ${e.index}/${e.term} after term ${prevTerm}; another log has it after term ${known.prevTerm}`,
      );
    }
    if (known.prevTerm === undefined) known.prevTerm = prevTerm;
  }

  /**
   * `removed` are durable entries of `id` about to be dropped by a suffix truncation or a
   * snapshot; `replacementTerm(i)` is the term written in their place, if any. A committed entry
   * must never be dropped (only compacted into a snapshot).
   */
  observeRemoval(id: NodeId, removed: readonly Entry[], replacementTerm: (index: number) => number | undefined): void {
    for (const r of removed) {
      if (replacementTerm(r.index) === r.term) continue;
      if (this.committed[r.index]?.term === r.term) {
        throw violation(this.clock, 'committed entry lost', `${id} drops committed entry ${r.index}/${r.term}`);
      }
    }
  }

  /** State machine safety: `id` now holds `e` as committed. */
  observeCommitted(id: NodeId, e: Entry): void {
    this.recordCommitted(id, e.index, e.term, e.data);
  }

  /** `id` holds the entry at `index` as committed, known only by its term (a snapshot's last entry). */
  observeCommittedTerm(id: NodeId, index: number, term: number): void {
    this.recordCommitted(id, index, term, null);
  }

  private recordCommitted(id: NodeId, index: number, term: number, data: Uint8Array | null): void {
    const known = this.committed[index];
    if (known === undefined) {
      this.committed[index] = { term, data };
      if (index > this.maxCommittedIndex) this.maxCommittedIndex = index;
      return;
    }
    if (known.term !== term) {
      throw violation(
        this.clock,
        'state machine safety',
        `${id} commits ${index}/${term} but ${index}/${known.term} was committed before`,
      );
    }
    if (data !== null && known.data !== null && !bytesEqual(data, known.data)) {
      throw violation(this.clock, 'state machine safety', `${id} commits a different payload at ${index}/${term}`);
    }
    if (known.data === null) known.data = data;
  }

  /** The commit index a running node reports never goes down (`restarted` resets the baseline). */
  observeCommitIndex(id: NodeId, commit: number, restarted = false): void {
    const before = this.commitByNode.get(id) ?? 0;
    if (!restarted && commit < before) {
      throw violation(this.clock, 'commit monotonic', `${id} commit went from ${before} to ${commit}`);
    }
    this.commitByNode.set(id, commit);
  }

  /** Rule 5: a node's durable commit index never exceeds the end of its durable log. */
  checkCommitWithinLog(id: NodeId, commit: number, durableLastIndex: number): void {
    if (commit > durableLastIndex) {
      throw violation(
        this.clock,
        'commit within durable log',
        `${id} has commit ${commit} beyond its durable log end ${durableLastIndex}`,
      );
    }
  }

  /**
   * Leader completeness: a leader of `term` holds every entry committed in an earlier term.
   * `termAt(i)` is the leader's term at i where visible (undefined when compacted or not yet
   * handed to the driver); `lastIndex` is the leader's own last index.
   */
  checkLeaderCompleteness(
    id: NodeId,
    term: number,
    lastIndex: number,
    termAt: (index: number) => number | undefined,
  ): void {
    for (let i = 1; i <= this.maxCommittedIndex; i++) {
      const c = this.committed[i];
      if (c === undefined || c.term >= term) continue;
      const t = termAt(i);
      if (t === undefined ? i > lastIndex : t !== c.term) {
        throw violation(
          this.clock,
          'leader completeness',
          `leader ${id} of term ${term} lacks committed entry ${i}/${c.term} (has ${t ?? 'none'}, last ${lastIndex})`,
        );
      }
    }
  }
}
