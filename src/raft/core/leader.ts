/**
 * The leader: heartbeats and CheckQuorum on ticks, follower answers (flow control, back-off,
 * commit), leadership transfer (rule 11), and what follows a commit (reads waiting for the noop,
 * step-down of a removed leader, rule 4).
 */
import { InvalidArgumentError, NotLeaderError, RaftRefusedError } from '../../errors.js';
import { isMember, isVoter } from './config.js';
import { majority } from './quorum.js';
import type { RaftState } from './raft-state.js';
import {
  bcastAppend,
  bcastHeartbeat,
  confirmReads,
  maybeCommit,
  sendAppend,
  sendAppendsWhileOpen,
  sendProbe,
  sendTimeoutNow,
  startRead,
} from './replication.js';
import { becomeFollower } from './transitions.js';
import type { AppendEntriesResponseMessage, HeartbeatResponseMessage, Message, NodeId } from './types.js';

export function tickLeader(s: RaftState): void {
  s.heartbeatElapsed++;
  s.electionElapsed++;
  if (s.electionElapsed >= s.opts.electionTicks) {
    s.electionElapsed = 0;
    if (s.opts.checkQuorum && !quorumActive(s)) {
      becomeFollower(s, s.term, null);
      return;
    }
    // A transfer that has not finished within an election timeout is abandoned (rule 11).
    s.leadTransferee = null;
    // Removed members that went quiet stop being informed.
    s.syncProgress();
  }
  if (s.heartbeatElapsed >= s.opts.heartbeatTicks) {
    s.heartbeatElapsed = 0;
    bcastHeartbeat(s, s.readOnly.currentRound());
  }
}

/** CheckQuorum: a majority of voters was heard from since the last check; resets the marks. */
function quorumActive(s: RaftState): boolean {
  let active = 0;
  for (const id of s.config.voters) {
    const pr = s.progress.get(id);
    if (id === s.id || pr?.recentActive === true) active++;
  }
  for (const [id, pr] of s.progress) pr.recentActive = id === s.id;
  return active >= majority(s.config.voters.length);
}

export function stepLeader(s: RaftState, m: Message): void {
  if (m.type === 'AppendEntriesResponse') handleAppendResponse(s, m);
  else if (m.type === 'HeartbeatResponse') handleHeartbeatResponse(s, m);
}

function handleAppendResponse(s: RaftState, m: AppendEntriesResponseMessage): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (!m.success) {
    handleRejection(s, m);
    return;
  }
  const wasPaused = pr.paused();
  if (!pr.maybeUpdate(m.index)) return;
  if (pr.state === 'probe') pr.becomeReplicate();
  else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeReplicate();
  else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

  if (maybeCommit(s)) afterCommit(s);
  else if (wasPaused) sendAppend(s, m.from, true);
  if (s.role !== 'leader') return;
  dropInformedMember(s, m.from);
  if (!s.progress.has(m.from)) return;
  sendAppendsWhileOpen(s, m.from);
  if (m.from === s.leadTransferee && pr.match === s.log.lastIndex()) sendTimeoutNow(s, m.from);
}

/** Fast back-off: moves `next` back using the follower's conflict hint. Stale rejections are ignored. */
function handleRejection(s: RaftState, m: AppendEntriesResponseMessage): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined || pr.state === 'snapshot') return;
  if (pr.state === 'replicate') {
    if (m.index <= pr.match) return;
    pr.becomeProbe();
  } else {
    if (m.index !== pr.next - 1) return;
    pr.next = Math.max(pr.match + 1, Math.min(hintedNext(s, m), m.index));
    pr.probeSent = false;
  }
  sendAppend(s, m.from, true);
}

function hintedNext(s: RaftState, m: AppendEntriesResponseMessage): number {
  if (m.conflictTerm === 0) return m.conflictIndex;
  // If we hold entries of the follower's conflicting term, resume after our last one of it.
  const j = s.log.lastIndexWithTermAtMost(m.index, m.conflictTerm);
  if (j >= s.log.firstIndex() - 1 && s.log.term(j) === m.conflictTerm) return j + 1;
  return m.conflictIndex;
}

function handleHeartbeatResponse(s: RaftState, m: HeartbeatResponseMessage): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (m.readContext > pr.readAck) {
    pr.readAck = m.readContext;
    confirmReads(s);
  }
  if (pr.state === 'snapshot') {
    // No answer to the InstallSnapshot yet: probe again (re-sends it if still needed).
    pr.becomeProbe();
    pr.next = pr.match + 1;
    sendAppend(s, m.from, true);
  } else if (pr.state === 'probe') {
    pr.probeSent = false;
    if (pr.match < s.log.lastIndex()) sendAppend(s, m.from, true);
  } else if (pr.match < s.log.lastIndex()) {
    sendProbe(s, m.from);
  }
}

/** After the commit index moved on the leader. */
export function afterCommit(s: RaftState): void {
  const committed = s.log.committed;
  if (s.configIndex <= committed && !isVoter(s.config, s.id)) {
    // Removed by a committed configuration change: step down (rule 4).
    bcastAppend(s);
    becomeFollower(s, s.term, null);
    return;
  }
  if (committed >= s.noopIndex) {
    for (const context of s.readOnly.takeWaiting()) startRead(s, context);
  }
  bcastAppend(s);
}

/** A follower's match moved: a removed member that now holds its removal needs no more entries. */
function dropInformedMember(s: RaftState, id: NodeId): void {
  if (!isMember(s.config, id)) s.syncProgress();
}

/** Rule 11: only to a voter of the latest config, not lagging, no config change pending. */
export function transferLeadership(s: RaftState, to: NodeId): void {
  if (s.role !== 'leader') throw new NotLeaderError(s.leader ?? undefined);
  if (to === s.id) return;
  if (!isVoter(s.config, to)) throw new InvalidArgumentError(`${to} is not a voter`);
  if (s.configIndex > s.log.committed) {
    throw new RaftRefusedError('config-pending', 'a configuration change is pending');
  }
  if (s.leadTransferee === to) return;
  const pr = s.progress.get(to);
  const last = s.log.lastIndex();
  if (pr === undefined || pr.state === 'snapshot' || pr.next < s.log.firstIndex() || last - pr.match > s.transferLagEntriesMax) {
    throw new RaftRefusedError(
      'target-lagging',
      `${to} is ${last - (pr?.match ?? 0)} entries behind (at most ${s.transferLagEntriesMax})`,
    );
  }
  s.leadTransferee = to;
  s.electionElapsed = 0;
  if (pr.match === last) sendTimeoutNow(s, to);
  else sendAppend(s, to, true);
}
