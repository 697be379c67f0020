/**
 * The leader's sending side: AppendEntries with flow control, InstallSnapshot when a follower
 * needs compacted entries, heartbeats (carrying ReadIndex rounds), and the commit rule.
 */
import { CompactedError } from '../../errors.js';
import { quorumIndex } from './quorum.js';
import type { RaftState } from './raft-state.js';
import type { Entry, NodeId, Proposal } from './types.js';

/**
 * Sends the follower the entries from its `next` index, unless paused. With `sendIfEmpty` an
 * empty AppendEntries still goes out (to carry the commit index or to probe). Returns whether a
 * message was sent.
 */
export function sendAppend(s: RaftState, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = s.progress.get(to);
  if (pr === undefined || to === s.id || pr.paused()) return false;
  const prevIndex = pr.next - 1;
  let prevTerm: number;
  let entries: Entry[];
  try {
    prevTerm = s.log.term(prevIndex);
    entries = s.log.entries(pr.next, s.log.lastIndex() + 1, s.opts.maxMsgBytes);
  } catch (err) {
    if (!(err instanceof CompactedError)) throw err;
    sendSnapshot(s, to);
    return true;
  }
  if (entries.length === 0 && !sendIfEmpty) return false;
  let bytes = 0;
  for (const e of entries) bytes += e.data.length;
  s.send({
    type: 'AppendEntries',
    from: s.id,
    to,
    term: s.term,
    prevIndex,
    prevTerm,
    entries,
    commit: s.log.committed,
  });
  pr.sentEntries(entries.length, prevIndex + entries.length, bytes);
  return true;
}

/** An empty AppendEntries at the follower's next index, ignoring the inflight window: after a
 * heartbeat answer it recovers a pipeline whose messages were all lost. */
export function sendProbe(s: RaftState, to: NodeId): void {
  const pr = s.progress.get(to);
  if (pr === undefined || pr.state === 'snapshot') return;
  const prevIndex = pr.next - 1;
  let prevTerm: number;
  try {
    prevTerm = s.log.term(prevIndex);
  } catch (err) {
    if (!(err instanceof CompactedError)) throw err;
    sendSnapshot(s, to);
    return;
  }
  const commit = s.log.committed;
  s.send({ type: 'AppendEntries', from: s.id, to, term: s.term, prevIndex, prevTerm, entries: [], commit });
}

export function sendSnapshot(s: RaftState, to: NodeId): void {
  const pr = s.progress.get(to);
  if (pr === undefined) return;
  const snapshot = s.log.snapshot();
  pr.becomeSnapshot(snapshot.index);
  s.send({ type: 'InstallSnapshot', from: s.id, to, term: s.term, snapshot });
}

export function bcastAppend(s: RaftState): void {
  for (const id of s.progress.keys()) if (id !== s.id) sendAppend(s, id, true);
}

/** Keeps sending to a follower while there is data and its window is open. */
export function sendAppendsWhileOpen(s: RaftState, to: NodeId): void {
  while (sendAppend(s, to, false)) {
    const pr = s.progress.get(to);
    if (pr === undefined || pr.state !== 'replicate') break;
  }
}

/** Heartbeats to every follower; commit is capped at the follower's match (rule 5). */
export function bcastHeartbeat(s: RaftState, readContext: number): void {
  for (const [id, pr] of s.progress) {
    if (id === s.id) continue;
    s.send({
      type: 'Heartbeat',
      from: s.id,
      to: id,
      term: s.term,
      commit: Math.min(pr.match, s.log.committed),
      readContext,
    });
  }
}

/**
 * The commit rule: the largest index a majority of voters holds durably, but only if it is of
 * the current term (entries of older terms commit indirectly). Returns whether commit advanced.
 */
export function maybeCommit(s: RaftState): boolean {
  const index = quorumIndex(s.config.voters, s.matchOf);
  if (index <= s.log.committed || s.log.term(index) !== s.term) return false;
  s.log.commitTo(index);
  return true;
}

/** Leader: appends proposals to the unstable log; returns the index of the first. */
export function appendLocal(s: RaftState, proposals: readonly Proposal[]): number {
  const first = s.log.lastIndex() + 1;
  const entries: Entry[] = new Array<Entry>(proposals.length);
  for (let i = 0; i < proposals.length; i++) {
    const p = proposals[i] as Proposal;
    entries[i] = { index: first + i, term: s.term, type: p.type, data: p.data };
  }
  s.log.append(entries);
  s.noteAppended(entries);
  return first;
}

/** Registers a ReadIndex at the current commit and starts its confirming heartbeat round. */
export function startRead(s: RaftState, context: number): void {
  if (s.config.voters.length === 1 && s.config.voters[0] === s.id) {
    s.readStates.push({ context, index: s.log.committed });
    return;
  }
  const round = s.readOnly.add(context, s.log.committed);
  bcastHeartbeat(s, round);
}

/** Releases the reads confirmed by a quorum of heartbeat answers. */
export function confirmReads(s: RaftState): void {
  const round = quorumIndex(s.config.voters, s.readAckOf);
  if (round > 0) s.readOnly.confirm(round, s.readStates);
}

export function sendTimeoutNow(s: RaftState, to: NodeId): void {
  s.send({ type: 'TimeoutNow', from: s.id, to, term: s.term });
}
