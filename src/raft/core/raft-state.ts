/**
 * The state of one Raft node and the small helpers every role uses. Role behaviour lives in
 * replication.ts, transitions.ts, leader.ts and follower.ts; the public API in raft.ts.
 */
import { assert } from '../../errors.js';
import { copyConfig, isMember, isVoter } from './config.js';
import { LogView } from './log-view.js';
import { Progress } from './progress.js';
import { ReadOnly } from './read-only.js';
import { EntryType } from './types.js';
import type {
  ClusterConfig,
  Entry,
  HardState,
  Message,
  NodeId,
  RaftOptions,
  RaftStorage,
  Random,
  ReadState,
} from './types.js';

export type CoreRole = 'follower' | 'precandidate' | 'candidate' | 'leader';

/** Defaults for the optional options. */
export const DEFAULT_TRANSFER_LAG_ENTRIES_MAX = 1000;
export const DEFAULT_MAX_PENDING_READS = 4096;

export class RaftState {
  readonly id: NodeId;
  readonly log: LogView;
  term = 0;
  vote: NodeId | null = null;
  leader: NodeId | null = null;
  role: CoreRole = 'follower';
  config: ClusterConfig;
  configIndex: number;
  /** Whether this node was a voter of the configuration the latest one replaced. */
  voterBeforeLatestConfig: boolean;
  /** Members of the configuration the latest one replaced (leader: informs removed ones). */
  membersBeforeLatestConfig = new Set<NodeId>();

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Votes received in the current (pre)campaign. */
  readonly votes = new Map<NodeId, boolean>();
  /** Leader only: every member's progress, including this node's own while it is a member. */
  readonly progress = new Map<NodeId, Progress>();
  leadTransferee: NodeId | null = null;
  /** Leader only: index of this term's noop. */
  noopIndex = 0;
  readonly readOnly: ReadOnly;

  msgs: Message[] = [];
  msgsAfterPersist: Message[] = [];
  readStates: ReadState[] = [];
  /** The hard state last handed out in a Ready. */
  prevHardState: HardState;

  readonly transferLagEntriesMax: number;

  constructor(
    readonly opts: RaftOptions,
    readonly storage: RaftStorage,
    readonly random: Random,
  ) {
    assert(opts.electionTicks > opts.heartbeatTicks, 'electionTicks must exceed heartbeatTicks');
    assert(opts.heartbeatTicks > 0, 'heartbeatTicks must be positive');
    assert(opts.maxInflightMsgs > 0 && opts.maxInflightBytes > 0, 'inflight limits must be positive');
    this.id = opts.id;
    this.log = new LogView(storage);
    const init = storage.initialState();
    this.term = init.hardState.term;
    this.vote = init.hardState.vote;
    this.config = copyConfig(init.config);
    this.configIndex = init.configIndex;
    this.voterBeforeLatestConfig =
      init.configIndex > 0 && isVoter(storage.configAt(init.configIndex - 1).config, this.id);
    this.prevHardState = { ...init.hardState, commit: this.log.committed };
    this.transferLagEntriesMax = opts.transferLagEntriesMax ?? DEFAULT_TRANSFER_LAG_ENTRIES_MAX;
    this.readOnly = new ReadOnly(opts.maxPendingReads ?? DEFAULT_MAX_PENDING_READS);
    this.resetRandomizedElectionTimeout();
  }

  /**
   * Outgoing messages. Those that promise durable state (votes, append responses, a candidate's
   * RequestVote after voting for itself) wait for the Ready's persistence step.
   */
  send(m: Message): void {
    if (
      m.type === 'AppendEntriesResponse' ||
      m.type === 'RequestVoteResponse' ||
      (m.type === 'RequestVote' && !m.pre)
    ) {
      this.msgsAfterPersist.push(m);
    } else {
      this.msgs.push(m);
    }
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /**
   * Who may campaign: a voter of the latest configuration, or a voter whose removal is appended
   * but not committed yet. The second case keeps a cluster live when a leader that appended its
   * own removal is cut off before anyone else got the entry: its log is then the most up to date,
   * so nobody else can win until it campaigns and commits the removal (as in the Raft thesis,
   * 4.2.2, and ScyllaDB's Raft). It counts votes with its latest configuration, which excludes
   * itself; single-server changes keep any two majorities overlapping, so this is safe.
   */
  promotable(): boolean {
    if (isVoter(this.config, this.id)) return true;
    return this.voterBeforeLatestConfig && this.configIndex > this.log.committed;
  }

  isLearner(): boolean {
    return this.config.learners.includes(this.id);
  }

  resetRandomizedElectionTimeout(): void {
    const n = this.opts.electionTicks;
    this.randomizedElectionTimeout = n + this.random.int(n);
  }

  /** Within the leader lease of rule 12: heard from a leader less than an election timeout ago. */
  inLease(): boolean {
    return this.opts.checkQuorum && this.leader !== null && this.electionElapsed < this.opts.electionTicks;
  }

  /** Applies config entries among freshly appended entries (config takes effect when appended). */
  noteAppended(entries: readonly Entry[]): void {
    let last: Entry | undefined;
    for (const e of entries) if (e.type === EntryType.Config) last = e;
    if (last !== undefined) {
      const { config, configIndex } = this.log.latestConfig();
      this.setConfig(config, configIndex);
    }
  }

  /** After a truncation or snapshot removed entries: the config is the latest one still in the log. */
  recomputeConfig(): void {
    const { config, configIndex } = this.log.latestConfig();
    if (configIndex !== this.configIndex) this.setConfig(config, configIndex);
  }

  setConfig(config: ClusterConfig, configIndex: number): void {
    // After a truncation the configuration before the latest one is not known here: be
    // conservative and do not campaign as a removed voter.
    this.voterBeforeLatestConfig = configIndex > this.configIndex && isVoter(this.config, this.id);
    this.membersBeforeLatestConfig = configIndex > this.configIndex ? new Set([...this.config.voters, ...this.config.learners]) : new Set();
    this.config = copyConfig(config);
    this.configIndex = configIndex;
    if (this.role === 'leader') this.syncProgress();
  }

  /** Leader: one Progress per member, new ones probing from the end of the log. */
  syncProgress(): void {
    for (const id of [...this.config.voters, ...this.config.learners]) {
      if (!this.progress.has(id)) {
        const pr = this.newProgress();
        if (id === this.id) {
          pr.match = this.log.persistedIndex();
          pr.becomeReplicate();
        }
        this.progress.set(id, pr);
      }
    }
    for (const [id, pr] of [...this.progress]) {
      if (!isMember(this.config, id) && !this.stillInforming(id, pr)) this.progress.delete(id);
    }
  }

  /**
   * A member removed by the latest configuration keeps receiving the log until it holds the entry
   * that removed it (so it learns it was removed: it stops campaigning, and a node that asked to
   * leave sees its removal), unless the change is committed and it has gone quiet. It never counts
   * toward any quorum: quorums use the configuration's voters only.
   */
  private stillInforming(id: NodeId, pr: Progress): boolean {
    if (id === this.id || !this.membersBeforeLatestConfig.has(id) || pr.match >= this.configIndex) return false;
    return this.configIndex > this.log.committed || pr.recentActive;
  }

  newProgress(): Progress {
    return new Progress(this.log.lastIndex() + 1, this.opts.maxInflightMsgs, this.opts.maxInflightBytes);
  }

  /** Match index of a voter for commit counting (0 when unknown). */
  matchOf = (id: NodeId): number => this.progress.get(id)?.match ?? 0;

  /** Confirmed ReadIndex round of a voter; the leader confirms its own rounds. */
  readAckOf = (id: NodeId): number =>
    id === this.id ? Number.MAX_SAFE_INTEGER : (this.progress.get(id)?.readAck ?? 0);
}
