/**
 * Followers, pre-candidates and candidates: the election timer, AppendEntries with back-off
 * hints, heartbeats, InstallSnapshot (rule 9), TimeoutNow (rule 11) and votes (rule 12).
 */
import type { RaftState } from './raft-state.js';
import { becomeFollower, campaign, recordVote } from './transitions.js';
import type {
  AppendEntriesMessage,
  HeartbeatMessage,
  InstallSnapshotMessage,
  Message,
  NodeId,
  RequestVoteMessage,
} from './types.js';

export function tickElection(s: RaftState): void {
  s.electionElapsed++;
  if (s.promotable() && s.electionElapsed >= s.randomizedElectionTimeout) {
    s.electionElapsed = 0;
    campaign(s, false);
  }
}

export function stepFollower(s: RaftState, m: Message): void {
  switch (m.type) {
    case 'AppendEntries':
      heardFromLeader(s, m.from);
      handleAppendEntries(s, m);
      return;
    case 'Heartbeat':
      heardFromLeader(s, m.from);
      handleHeartbeat(s, m);
      return;
    case 'InstallSnapshot':
      heardFromLeader(s, m.from);
      handleSnapshot(s, m);
      return;
    case 'TimeoutNow':
      // Learners and non-members ignore it (campaign checks that we are a voter).
      campaign(s, true);
      return;
    default:
      return;
  }
}

export function stepCandidate(s: RaftState, m: Message): void {
  switch (m.type) {
    case 'AppendEntries':
    case 'Heartbeat':
    case 'InstallSnapshot':
      // A leader of our term exists.
      becomeFollower(s, m.term, m.from);
      stepFollower(s, m);
      return;
    case 'RequestVoteResponse':
      if (m.pre === (s.role === 'precandidate')) recordVote(s, m.from, m.granted, m.pre);
      return;
    default:
      return;
  }
}

function heardFromLeader(s: RaftState, from: NodeId): void {
  s.electionElapsed = 0;
  s.leader = from;
}

function respond(s: RaftState, to: NodeId, success: boolean, index: number, hint?: [number, number]): void {
  s.send({
    type: 'AppendEntriesResponse',
    from: s.id,
    to,
    term: s.term,
    success,
    index,
    conflictIndex: hint?.[0] ?? 0,
    conflictTerm: hint?.[1] ?? 0,
  });
}

/**
 * Appends after a matching (prevIndex, prevTerm), or rejects with a hint: the follower's term at
 * prevIndex and the first index of that term, or (conflictTerm 0) its last index + 1. The commit
 * index follows min(leader commit, last index this message verified) (rule 5).
 */
function handleAppendEntries(s: RaftState, m: AppendEntriesMessage): void {
  const log = s.log;
  if (m.prevIndex < log.committed) {
    respond(s, m.from, true, log.committed);
    return;
  }
  if (!log.matchTerm(m.prevIndex, m.prevTerm)) {
    const last = log.lastIndex();
    const hint: [number, number] =
      m.prevIndex > last
        ? [last + 1, 0]
        : [log.firstIndexOfTermAt(m.prevIndex), log.term(m.prevIndex)];
    respond(s, m.from, false, m.prevIndex, hint);
    return;
  }
  const truncated = log.appendAfter(m.prevIndex, m.entries);
  if (truncated) s.recomputeConfig();
  else s.noteAppended(m.entries);
  const lastNew = m.prevIndex + m.entries.length;
  log.commitTo(Math.min(m.commit, lastNew));
  respond(s, m.from, true, lastNew);
}

function handleHeartbeat(s: RaftState, m: HeartbeatMessage): void {
  // The leader caps m.commit at our match index (rule 5), so it names entries we hold.
  s.log.commitTo(Math.min(m.commit, s.log.lastIndex()));
  s.send({ type: 'HeartbeatResponse', from: s.id, to: m.from, term: s.term, readContext: m.readContext });
}

/**
 * Rule 9: a snapshot at or below the commit index is ignored; if the log holds (X, term X) the
 * suffix is kept and only the commit index moves; otherwise the log restarts after X and the
 * snapshot goes to the driver in Ready.snapshot.
 */
function handleSnapshot(s: RaftState, m: InstallSnapshotMessage): void {
  const snap = m.snapshot;
  const log = s.log;
  if (snap.index <= log.committed) {
    respond(s, m.from, true, log.committed);
    return;
  }
  if (log.matchTerm(snap.index, snap.term)) {
    log.commitTo(snap.index);
    respond(s, m.from, true, snap.index);
    return;
  }
  log.restore(snap);
  s.setConfig(snap.config, snap.configIndex);
  respond(s, m.from, true, snap.index);
}

/**
 * Votes (any role; the term was already reconciled by the caller). A node grants at most one
 * vote per term, and only to a candidate whose log is at least as up to date as its own. A node
 * that knows a leader of this term refuses. Pre-votes change nothing here.
 */
export function handleVoteRequest(s: RaftState, m: RequestVoteMessage): void {
  const canVote =
    s.vote === m.from || (s.vote === null && s.leader === null) || (m.pre && m.term > s.term);
  const granted = canVote && s.log.isUpToDate(m.lastIndex, m.lastTerm);
  if (granted && !m.pre) {
    s.electionElapsed = 0;
    s.vote = m.from;
  }
  s.send({
    type: 'RequestVoteResponse',
    from: s.id,
    to: m.from,
    term: granted ? m.term : s.term,
    pre: m.pre,
    granted,
  });
}
