/** Role changes and elections (PreVote, vote counting, the noop of a new leader). */
import { voteResult } from './quorum.js';
import { appendLocal, bcastAppend } from './replication.js';
import type { RaftState } from './raft-state.js';
import { EntryType } from './types.js';
import type { NodeId } from './types.js';

const EMPTY = new Uint8Array(0);

/** Clears the per-term and per-role state; a new term forgets the vote. */
function reset(s: RaftState, term: number): void {
  if (term !== s.term) {
    s.term = term;
    s.vote = null;
  }
  s.leader = null;
  s.electionElapsed = 0;
  s.heartbeatElapsed = 0;
  s.resetRandomizedElectionTimeout();
  s.votes.clear();
  s.leadTransferee = null;
  s.progress.clear();
  s.readOnly.reset();
  s.noopIndex = 0;
}

export function becomeFollower(s: RaftState, term: number, leader: NodeId | null): void {
  reset(s, term);
  s.role = 'follower';
  s.leader = leader;
}

function becomePreCandidate(s: RaftState): void {
  // No term change and no vote: a pre-candidate disturbs nobody (etcd's PreVote).
  s.votes.clear();
  s.progress.clear();
  s.leader = null;
  s.role = 'precandidate';
}

function becomeCandidate(s: RaftState): void {
  reset(s, s.term + 1);
  s.vote = s.id;
  s.role = 'candidate';
}

/** Becomes leader: progress for every member, the noop of the term, first AppendEntries. */
export function becomeLeader(s: RaftState): void {
  reset(s, s.term);
  s.role = 'leader';
  s.leader = s.id;
  s.syncProgress();
  const self = s.progress.get(s.id);
  if (self !== undefined) self.recentActive = true;
  s.noopIndex = appendLocal(s, [{ type: EntryType.Noop, data: EMPTY }]);
  bcastAppend(s);
}

/**
 * Starts an election if this node is a voter of its latest configuration (learners and
 * non-members never campaign). With PreVote a pre-election comes first, unless the campaign is
 * a leadership transfer (TimeoutNow), which also bypasses the rule-12 lease of the voters.
 */
export function campaign(s: RaftState, transfer: boolean): void {
  if (!s.promotable()) return;
  if (s.opts.preVote && !transfer) startElection(s, true, false);
  else startElection(s, false, transfer);
}

function startElection(s: RaftState, pre: boolean, transfer: boolean): void {
  if (pre) becomePreCandidate(s);
  else becomeCandidate(s);
  const term = pre ? s.term + 1 : s.term;
  if (recordVote(s, s.id, true, pre)) return;
  const lastIndex = s.log.lastIndex();
  const lastTerm = s.log.lastTerm();
  for (const id of s.config.voters) {
    if (id === s.id) continue;
    s.send({ type: 'RequestVote', from: s.id, to: id, term, pre, lastIndex, lastTerm, transfer });
  }
}

/** Counts a vote; acts on the outcome. Returns whether the election ended. */
export function recordVote(s: RaftState, from: NodeId, granted: boolean, pre: boolean): boolean {
  if (!s.votes.has(from)) s.votes.set(from, granted);
  switch (voteResult(s.config.voters, s.votes)) {
    case 'won':
      if (pre) startElection(s, false, false);
      else becomeLeader(s);
      return true;
    case 'lost':
      becomeFollower(s, s.term, null);
      return true;
    case 'pending':
      return false;
  }
}
