import type { NodeId, RaftStorage } from '../../src/raft/core/types.js';

/** A node's durable log, as the exposure check reads it (the simulated disk of one identity). */
export interface DurableLog {
  readonly id: NodeId;
  readonly storage: RaftStorage;
}

/** The end of a log, compared the way a voter compares candidates: by last term, then last index. */
export interface LogEnd {
  index: number;
  term: number;
}

/** A log that lacks a committed entry and could still win an election. */
export interface Exposure {
  id: NodeId;
  index: number;
  term: number;
  /** The log's term at `index` (undefined when the log ends before it). */
  held: number | undefined;
  end: LogEnd;
  /** Voters of the log's own configuration whose durable log is no more up to date than it. */
  electors: NodeId[];
  voters: number;
}

function logEnd(s: RaftStorage): LogEnd {
  const index = s.lastIndex();
  return { index, term: s.term(index) };
}

/** Whether a voter whose log ends at `voter` would find a candidate ending at `candidate` up to date. */
function wouldVote(voter: LogEnd, candidate: LogEnd): boolean {
  return candidate.term > voter.term || (candidate.term === voter.term && candidate.index >= voter.index);
}

/**
 * Whether the log holds entry (index, term). An index inside the snapshot counts as held (it was
 * committed when compacted; state machine safety checks the snapshot's own entry).
 */
function holds(s: RaftStorage, index: number, term: number): { ok: boolean; held: number | undefined } {
  const snapIndex = s.firstIndex() - 1;
  if (index < snapIndex) return { ok: true, held: undefined };
  if (index > s.lastIndex()) return { ok: false, held: undefined };
  const held = s.term(index);
  return { ok: held === term, held };
}

/**
 * Committed-entry exposure: no durable log that lacks a committed entry may be electable, i.e. a
 * voter of its own latest configuration, with a majority of that configuration's voters (itself
 * included) holding durable logs no more up to date than it. If one were, crashing and restarting
 * every node and letting it campaign would elect it, and it would overwrite the entry.
 *
 * In a correct Raft this holds at every instant: when the leader of term C commits, a majority
 * durably holds an entry of term C after the committed one; those logs never lose it, and every
 * log lacking the committed entry ends in a term below C (leader completeness), so none of that
 * majority votes for it. A leader that commits an older term's entry by counting replicas (the
 * figure-8 mistake) breaks this the moment a log of a newer term lacks the entry while enough
 * replicas still end in the older term: the check reports it at that commit, without waiting for
 * the rare schedule that actually runs the election and loses the entry.
 *
 * Only the highest committed entry needs checking: a log lacking an earlier committed entry also
 * lacks the highest one (log matching, checked separately).
 */
export function findExposure(index: number, term: number, logs: readonly DurableLog[]): Exposure | null {
  for (const log of logs) {
    const e = exposureOf(log, index, term, logs);
    if (e !== null) return e;
  }
  return null;
}

/** `log` against committed entry (index, term). */
export function exposureOf(log: DurableLog, index: number, term: number, logs: readonly DurableLog[]): Exposure | null {
  const s = log.storage;
  const h = holds(s, index, term);
  if (h.ok) return null;
  const end = logEnd(s);
  const { voters } = s.configAt(end.index).config;
  if (!voters.includes(log.id)) return null;
  const electors: NodeId[] = [];
  for (const v of voters) {
    const voter = logs.find((l) => l.id === v);
    if (voter !== undefined && wouldVote(logEnd(voter.storage), end)) electors.push(v);
  }
  if (electors.length <= voters.length / 2) return null;
  return { id: log.id, index, term, held: h.held, end, electors, voters: voters.length };
}
