/**
 * RaftCore: the public face of the pure Raft state machine (etcd's RawNode + raft.Step). Inputs
 * are ticks, messages and proposals; outputs are collected in a Ready that the driver persists,
 * sends and applies before calling advance(). No I/O, no clocks, no ambient randomness.
 */
import { InvalidArgumentError, NotLeaderError, RaftRefusedError } from '../../errors.js';
import { applyConfigChange, copyConfig, encodeConfig } from './config.js';
import { handleVoteRequest, stepCandidate, stepFollower, tickElection } from './follower.js';
import { afterCommit, stepLeader, tickLeader, transferLeadership } from './leader.js';
import { RaftState } from './raft-state.js';
import { appendLocal, maybeCommit, sendAppend, sendAppendsWhileOpen, startRead } from './replication.js';
import { becomeFollower, campaign } from './transitions.js';
import { EntryType } from './types.js';
import type {
  ClusterConfig,
  ConfigChange,
  HardState,
  Message,
  NodeId,
  Proposal,
  RaftOptions,
  RaftStorage,
  Random,
  Ready,
  Role,
  SoftState,
} from './types.js';

export interface ProgressStatus {
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  recentActive: boolean;
}

export interface RaftStatus {
  id: NodeId;
  role: Role;
  term: number;
  leader: NodeId | null;
  commit: number;
  lastIndex: number;
  config: ClusterConfig;
  /** Every member's replication progress; empty unless this node is the leader. */
  progress: Map<NodeId, ProgressStatus>;
}

export class RaftCore {
  private readonly s: RaftState;
  private prevSoft: SoftState;

  constructor(opts: RaftOptions, storage: RaftStorage, random: Random) {
    this.s = new RaftState(opts, storage, random);
    this.prevSoft = this.softState();
  }

  /** One unit of logical time. */
  tick(): void {
    if (this.s.role === 'leader') tickLeader(this.s);
    else tickElection(this.s);
  }

  /** Feeds a message from a peer. Messages addressed to another identity are dropped (rule 2). */
  step(m: Message): void {
    const s = this.s;
    if (m.to !== s.id || m.from === s.id) return;
    if (m.term > s.term) {
      if (!this.acceptHigherTerm(m)) return;
    } else if (m.term < s.term) {
      this.answerStale(m);
      return;
    }
    if (m.type === 'RequestVote') {
      handleVoteRequest(s, m);
      return;
    }
    switch (s.role) {
      case 'leader':
        stepLeader(s, m);
        return;
      case 'precandidate':
      case 'candidate':
        stepCandidate(s, m);
        return;
      case 'follower':
        stepFollower(s, m);
        return;
    }
  }

  /**
   * Appends proposals (data or noop entries) on the leader; returns the index and term of the
   * first. The driver acknowledges a proposal only when the committed entry at its index has
   * that term (rule 6).
   */
  propose(proposals: Proposal[]): { index: number; term: number } {
    const s = this.s;
    this.checkProposable();
    if (proposals.length === 0) throw new InvalidArgumentError('nothing to propose');
    for (const p of proposals) {
      if (p.type === EntryType.Config) {
        throw new InvalidArgumentError('configuration entries go through proposeConfigChange');
      }
    }
    const index = appendLocal(s, proposals);
    for (const id of s.progress.keys()) if (id !== s.id) sendAppendsWhileOpen(s, id);
    return { index, term: s.term };
  }

  /**
   * One membership change (rule 4): only after this leader's noop of the term is committed and
   * while no configuration entry is uncommitted. Takes effect as soon as it is appended.
   */
  proposeConfigChange(change: ConfigChange): { index: number; term: number } {
    const s = this.s;
    this.checkProposable();
    if (s.log.committed < s.noopIndex) {
      throw new RaftRefusedError('noop-uncommitted', 'the leader has not committed an entry of its term yet');
    }
    if (s.configIndex > s.log.committed) {
      throw new RaftRefusedError('config-pending', `configuration entry ${s.configIndex} is not committed yet`);
    }
    const next = applyConfigChange(s.config, change);
    if (change.type === 'promote' && s.opts.promoteLagEntriesMax !== undefined) {
      const match = s.progress.get(change.id)?.match ?? 0;
      if (s.log.lastIndex() - match > s.opts.promoteLagEntriesMax) {
        throw new RaftRefusedError('target-lagging', `learner ${change.id} has not caught up (match ${match})`);
      }
    }
    const index = appendLocal(s, [{ type: EntryType.Config, data: encodeConfig(next) }]);
    for (const id of s.progress.keys()) if (id !== s.id) sendAppend(s, id, false);
    return { index, term: s.term };
  }

  /** Hands leadership to a voter (TimeoutNow once it is caught up); see leader.ts for refusals. */
  transferLeadership(to: NodeId): void {
    transferLeadership(this.s, to);
  }

  /**
   * ReadIndex (rule 10): the answer, { context, index }, appears in a later Ready.readStates once
   * a quorum confirmed this leadership after the request (and this term's noop is committed).
   */
  readIndex(context: number): void {
    const s = this.s;
    if (s.role !== 'leader') throw new NotLeaderError(s.leader ?? undefined);
    if (s.log.committed < s.noopIndex) s.readOnly.wait(context);
    else startRead(s, context);
  }

  /** Starts an election now (PreVote first when enabled); a no-op on leaders and non-voters. */
  campaign(): void {
    if (this.s.role !== 'leader') campaign(this.s, false);
  }

  hasReady(): boolean {
    const s = this.s;
    return (
      s.msgs.length > 0 ||
      s.msgsAfterPersist.length > 0 ||
      s.readStates.length > 0 ||
      s.log.hasNextReady() ||
      !sameHardState(s.hardState(), s.prevHardState) ||
      !sameSoftState(this.softState(), this.prevSoft)
    );
  }

  /** Everything to do since the last Ready; each entry and message appears in exactly one. */
  ready(): Ready {
    const s = this.s;
    const hs = s.hardState();
    const { snapshot, entries } = s.log.takeReady();
    const rd: Ready = {
      softState: this.softState(),
      hardState: sameHardState(hs, s.prevHardState) ? null : hs,
      snapshot,
      entries,
      messages: s.msgs,
      messagesAfterPersist: s.msgsAfterPersist,
      commitIndex: s.log.committed,
      readStates: s.readStates,
    };
    s.msgs = [];
    s.msgsAfterPersist = [];
    s.readStates = [];
    s.prevHardState = hs;
    this.prevSoft = rd.softState;
    return rd;
  }

  /** The driver has done everything `rd` asked: its snapshot and entries are durable. */
  advance(rd: Ready): void {
    const s = this.s;
    if (rd.snapshot) s.log.stableSnapTo(rd.snapshot.index);
    const last = rd.entries.at(-1);
    if (last === undefined) return;
    s.log.stableTo(last.index, last.term);
    if (s.role !== 'leader') return;
    const self = s.progress.get(s.id);
    if (self !== undefined) self.maybeUpdate(s.log.persistedIndex());
    if (maybeCommit(s)) afterCommit(s);
  }

  status(): RaftStatus {
    const s = this.s;
    const progress = new Map<NodeId, ProgressStatus>();
    if (s.role === 'leader') {
      for (const [id, pr] of s.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive });
      }
    }
    return {
      id: s.id,
      role: this.softState().role,
      term: s.term,
      leader: s.leader,
      commit: s.log.committed,
      lastIndex: s.log.lastIndex(),
      config: copyConfig(s.config),
      progress,
    };
  }

  private softState(): SoftState {
    const s = this.s;
    const role: Role = s.role === 'follower' && s.isLearner() ? 'learner' : s.role;
    return { role, leader: s.leader, term: s.term };
  }

  private checkProposable(): void {
    const s = this.s;
    if (s.role !== 'leader') throw new NotLeaderError(s.leader ?? undefined);
    if (s.leadTransferee !== null) {
      throw new RaftRefusedError('transfer-in-progress', `leadership is moving to ${s.leadTransferee}`);
    }
  }

  /**
   * A message from a higher term. Returns false when it is to be ignored: a (pre)vote request
   * inside the leader lease (rule 12) unless it comes from a transfer. Pre-votes and granted
   * pre-vote answers change no term; everything else makes us a follower of that term.
   */
  private acceptHigherTerm(m: Message): boolean {
    const s = this.s;
    if (m.type === 'RequestVote') {
      if (!m.transfer && s.inLease()) return false;
      if (m.pre) return true;
      becomeFollower(s, m.term, null);
      return true;
    }
    if (m.type === 'RequestVoteResponse' && m.pre && m.granted) return true;
    const fromLeader = m.type === 'AppendEntries' || m.type === 'Heartbeat' || m.type === 'InstallSnapshot';
    becomeFollower(s, m.term, fromLeader ? m.from : null);
    return true;
  }

  /** A message from an older term: tell a stale leader or pre-candidate about our term. */
  private answerStale(m: Message): void {
    const s = this.s;
    if ((m.type === 'AppendEntries' || m.type === 'Heartbeat') && (s.opts.checkQuorum || s.opts.preVote)) {
      s.send({
        type: 'AppendEntriesResponse',
        from: s.id,
        to: m.from,
        term: s.term,
        success: false,
        index: 0,
        conflictIndex: 0,
        conflictTerm: 0,
      });
    } else if (m.type === 'RequestVote' && m.pre) {
      s.send({ type: 'RequestVoteResponse', from: s.id, to: m.from, term: s.term, pre: true, granted: false });
    }
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader && a.term === b.term;
}
