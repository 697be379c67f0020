/**
 * The node driver: one event loop around the pure Raft core (ARCHITECTURE 3, STYLE 1).
 *
 * Inputs (peer messages, ticks, proposals) step the core synchronously; a single persistence loop
 * drains Readys in the contract's order: send `messages` (the leader's AppendEntries leave while
 * its own fsync runs), persist snapshot + entries + hard state, send `messagesAfterPersist`,
 * publish the commit index, resolve proposals by (index, term), advance. While one Ready is being
 * persisted, new proposals pile up in the core and go out as the next Ready: group commit end to
 * end (one append + one fsync on the leader, one AppendEntries per follower, for many produces).
 * A Ready with nothing to persist that moves the commit index is published before its messages
 * leave (see commitOnly); a Ready with new entries publishes what of its commit is already durable
 * before persisting them (see publishStable).
 */
import { ClosedError, DiskFullError, LogFailedError, UnavailableError, asError } from '../errors.js';
import type { Logger } from '../logger.js';
import { OffsetWaiters } from '../util/offset-waiters.js';
import { RaftCore, type RaftStatus } from './core/raft.js';
import { EntryType, type ConfigChange, type HardState, type Message, type NodeId, type Proposal, type RaftOptions, type Random, type Ready, type SoftState } from './core/types.js';
import type { LogStorage } from './log-storage.js';
import { Proposals } from './proposals.js';
import type { RaftTransport } from './transport.js';

export interface RaftNodeOptions {
  raft: RaftOptions;
  storage: LogStorage;
  transport: RaftTransport;
  random: Random;
  logger: Logger;
  /** Milliseconds per Raft tick. */
  tickMs: number;
  /** Most bytes of proposed, not yet committed data accepted before produces are refused. */
  maxPendingBytes?: number;
  /** How often a commit index that moved is written to the hard-state file (it is a lower bound). */
  commitPersistIntervalMs?: number;
  /** Called after every Ready with the role, leader and term (for metrics and the agent). */
  onSoftState?: (soft: SoftState) => void;
  /** While no leader is known, say so in the log this often (default 5 s). */
  noLeaderReportMs?: number;
}

interface PendingRead {
  resolve: (index: number) => void;
  reject: (err: Error) => void;
  index?: number;
}

/** One warning per this many ms while writes keep failing for lack of space. */
const DISK_FULL_REPORT_MS = 10_000;

export class RaftNode {
  private coreNow: RaftCore;
  private readonly log: Logger;
  private readonly storage: LogStorage;
  private ticker: NodeJS.Timeout | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private running = false;
  private scheduled = false;
  private closed = false;
  private failed: Error | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  /** Entries up to here are durable and committed: readers may see them. */
  private published: number;
  private persistedHardState: HardState;
  private soft: SoftState;
  private readonly proposals: Proposals;
  private readonly commitWaiters = new OffsetWaiters(1_000_000);
  private readonly reads = new Map<number, PendingRead>();
  private nextReadContext = 1;
  private readonly commitListeners: ((commit: number) => void)[] = [];
  private leaderWaiters: (() => void)[] = [];
  /** Ticks since start, and the tick each follower was last seen active (leader only). */
  private ticks = 0;
  private leaderlessTicks = 0;
  private readonly followerSeenTick = new Map<NodeId, number>();
  /** Storage maintenance (compaction) run by the persistence loop between Readys. */
  /** Work run inside the persistence loop (compaction); rejected when the node fails or closes. */
  private tasks: { run: () => Promise<void>; reject: (err: Error) => void }[] = [];
  /** When a full disk was last logged (one warning per diskFullReportMs). */
  private diskFullReportedAt = 0;
  /**
   * Messages of a Ready that had nothing to persist but a commit to publish, held until the
   * produces it commits have been answered (see commitOnly); sent before any later message.
   */
  private deferred: Message[] = [];
  private deferredTimer: NodeJS.Immediate | undefined;

  constructor(private readonly opts: RaftNodeOptions) {
    this.log = opts.logger.child({ component: 'raft', node: opts.raft.id });
    this.storage = opts.storage;
    this.coreNow = new RaftCore(opts.raft, opts.storage, opts.random);
    this.persistedHardState = opts.storage.hardState();
    this.published = this.persistedHardState.commit;
    const st = this.core.status();
    this.soft = { role: st.role, leader: st.leader, term: st.term };
    this.proposals = new Proposals(opts.maxPendingBytes ?? 64 * 1024 * 1024);
  }

  /** The Raft core (replaced by a fresh one, from durable state, after a write refused for space). */
  get core(): RaftCore {
    return this.coreNow;
  }

  get id(): NodeId {
    return this.opts.raft.id;
  }

  /**
   * Starts ticking. The owner routes incoming Raft messages to step(). A node that is the only
   * voter of its configuration campaigns at once instead of waiting out an election timeout.
   */
  start(): void {
    const { config } = this.core.status();
    if (config.voters.length === 1 && config.voters[0] === this.id) this.core.campaign();
    this.ticker = setInterval(() => {
      if (this.closed) return;
      this.core.tick();
      this.ticks++;
      if (this.soft.role === 'leader') {
        for (const [id, pr] of this.core.status().progress) if (pr.recentActive) this.followerSeenTick.set(id, this.ticks);
      }
      this.reportNoLeader();
      this.schedule();
    }, this.opts.tickMs);
    this.ticker.unref();
    const every = this.opts.commitPersistIntervalMs ?? 1000;
    this.commitTimer = setInterval(() => {
      // Only work that starts replaces loopDone: close() must await the loop that is running.
      if (!this.running) this.loopDone = this.persistCommitLazily();
    }, every);
    this.commitTimer.unref();
    this.schedule();
  }

  step(m: Message): void {
    if (this.closed || this.failed) return;
    this.core.step(m);
    this.schedule();
  }

  /**
   * Proposes data values as consecutive entries; resolves with the first entry's Raft index once
   * it is committed with the term it was proposed in. Rejects with NotLeaderError on a follower,
   * UnavailableError when the outcome is unknown (leadership lost, entry replaced) or the node is
   * overloaded.
   */
  propose(values: readonly Uint8Array[]): Promise<number> {
    return this.proposeEntries(values.map((data) => ({ type: EntryType.Data, data })));
  }

  /** propose() for typed user entries (an idempotent producer's request: src/raft/dedup-header.ts). */
  proposeEntries(proposals: Proposal[]): Promise<number> {
    const err = this.refusal();
    if (err) return Promise.reject(err);
    const committed = this.proposals.enqueue(proposals);
    this.schedule();
    return committed;
  }

  /** One membership change; resolves once the configuration entry commits. */
  async changeConfig(change: ConfigChange): Promise<void> {
    const err = this.refusal();
    if (err) throw err;
    const { index, term } = this.core.proposeConfigChange(change);
    this.schedule();
    await this.proposals.awaitEntry(index, term);
  }

  transferLeadership(to: NodeId): void {
    this.core.transferLeadership(to);
    this.schedule();
  }

  /**
   * ReadIndex (rule 10): resolves with an index that a linearizable read must wait for. Rejects
   * with NotLeaderError on a follower, UnavailableError on step-down, and the signal's reason when
   * it aborts (the core's request is then answered into the void).
   */
  readIndex(signal?: AbortSignal): Promise<number> {
    const err = this.refusal() ?? (signal?.aborted ? asError(signal.reason) : undefined);
    if (err) return Promise.reject(err);
    const context = this.nextReadContext++;
    return new Promise<number>((resolve, reject) => {
      const onAbort = (): void => {
        this.reads.delete(context);
        reject(asError(signal?.reason));
      };
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.reads.set(context, {
        resolve: (index) => {
          done();
          resolve(index);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      try {
        this.core.readIndex(context);
      } catch (e) {
        this.reads.delete(context);
        reject(asError(e));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.schedule();
    });
  }

  /** Highest index that is committed and durable here (readers may see up to it). */
  commitIndex(): number {
    return this.published;
  }

  /** Calls `listener` after the commit index moves. */
  onCommit(listener: (commit: number) => void): void {
    this.commitListeners.push(listener);
  }

  /** Resolves when the commit index reaches `index`. */
  waitForCommit(index: number, signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('raft node'));
    if (index <= this.published) return Promise.resolve();
    return this.commitWaiters.wait(index, signal);
  }

  softState(): SoftState {
    return this.soft;
  }

  /** Resolves true once a leader is known (at once if one is), false after `timeoutMs`. */
  waitForLeader(timeoutMs: number): Promise<boolean> {
    if (this.soft.leader !== null) return Promise.resolve(true);
    if (this.closed || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(this.soft.leader !== null);
      };
      const timer = setTimeout(() => {
        this.leaderWaiters = this.leaderWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      this.leaderWaiters.push(done);
    });
  }

  /**
   * Drops whole segments at or below `upTo` Raft index, clamped to what may go (rule 14): never
   * past the commit index and, on the leader, never within `marginEntries` of the slowest follower
   * that is active (a follower that falls behind that later catches up with InstallSnapshot).
   * Runs in the persistence loop, so it never races a Ready. Resolves with the new first index.
   */
  compact(upTo: number, marginEntries = 0): Promise<number> {
    const err = this.refusal();
    if (err) return Promise.reject(err);
    return new Promise<number>((resolve, reject) => {
      const run = async (): Promise<void> => {
        try {
          const target = Math.min(upTo, this.compactionLimit(marginEntries));
          if (target >= this.storage.firstIndex()) await this.storage.compact(target, this.published);
          resolve(this.storage.firstIndex());
        } catch (e) {
          reject(asError(e));
          throw e;
        }
      };
      this.tasks.push({ run, reject });
      this.schedule();
    });
  }

  /** Says so in the log, every few seconds, while no leader is known (no quorum, or still joining). */
  private reportNoLeader(): void {
    if (this.soft.leader !== null) {
      this.leaderlessTicks = 0;
      return;
    }
    this.leaderlessTicks++;
    const every = Math.max(1, Math.round((this.opts.noLeaderReportMs ?? 5000) / this.opts.tickMs));
    if (this.leaderlessTicks % every !== 0) return;
    const { config, term } = this.core.status();
    this.log.warn(
      { term, voters: config.voters, forMs: this.leaderlessTicks * this.opts.tickMs },
      config.voters.includes(this.id) || config.learners.includes(this.id)
        ? 'no leader: waiting for a majority of the voters to reach each other'
        : 'not a member of the configuration yet: waiting for the leader to add this node',
    );
  }

  /**
   * The highest index compaction may drop now: the commit index and, on the leader, `marginEntries`
   * behind the slowest active follower (rule 14).
   */
  compactionLimit(marginEntries: number): number {
    let limit = this.published;
    const status = this.core.status();
    if (status.role === 'leader') {
      for (const [id, pr] of status.progress) {
        if (id !== this.id && this.followerActive(id)) limit = Math.min(limit, pr.match - marginEntries);
      }
    }
    return limit;
  }

  /**
   * On the leader: whether a follower answered within the last two election timeouts (the core's
   * own activity flag is reset every election timeout, so it alone would blink). Every member
   * counts as active for that long after this node becomes leader.
   */
  followerActive(id: NodeId): boolean {
    const seen = this.followerSeenTick.get(id);
    return seen !== undefined && this.ticks - seen <= 2 * this.opts.raft.electionTicks;
  }

  status(): RaftStatus {
    return this.core.status();
  }

  /** Stops the node: pending work fails as outcome unknown, the persistence loop drains. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    clearInterval(this.commitTimer);
    await this.loopDone;
    this.sendDeferred();
    const err = new UnavailableError('the node is shutting down; the outcome of this request is unknown');
    this.failAll(err);
    this.rejectTasks(new ClosedError('raft node'));
    this.commitWaiters.rejectAll(new ClosedError('raft node'));
    if (!this.failed) await this.persistCommitLazily();
  }

  private refusal(): Error | undefined {
    if (this.failed) return new LogFailedError(this.failed);
    if (this.closed) return new ClosedError('raft node');
    return undefined;
  }

  private schedule(): void {
    if (this.scheduled || this.running || this.closed) return;
    this.scheduled = true;
    // A microtask, not a turn: everything stepped in this turn (a socket's messages, a tick)
    // still lands in one Ready, and under load proposals batch while the loop persists.
    queueMicrotask(() => {
      this.scheduled = false;
      // A running persistCommitLazily schedules again when it ends.
      if (!this.running) this.loopDone = this.run();
    });
  }

  /** Moves queued proposals into the core in one call, so they share entries, writes and messages. */
  private flushProposals(): void {
    this.proposals.flush((all) => this.core.propose(all));
  }

  private async run(): Promise<void> {
    if (this.running || this.closed || this.failed) return;
    this.running = true;
    try {
      for (let task = this.tasks.shift(); task; task = this.tasks.shift()) await task.run();
      this.flushProposals();
      while (this.core.hasReady() && !this.failed) {
        await this.handleReady(this.core.ready());
        this.flushProposals();
      }
    } catch (err) {
      if (err instanceof DiskFullError) this.restartAfterDiskFull(err);
      else this.fail(err);
    } finally {
      this.running = false;
    }
    if (!this.closed && !this.failed && (this.proposals.hasQueued || this.tasks.length > 0 || this.core.hasReady())) this.schedule();
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.sendDeferred();
    const commitOnly = this.commitOnly(rd);
    if (commitOnly) this.defer(rd.messages, rd.messagesAfterPersist);
    else for (const m of rd.messages) this.opts.transport.send(m);
    this.publishStable(rd);
    if (rd.snapshot) await this.storage.installSnapshot(rd.snapshot);
    if (rd.entries.length > 0) await this.storage.append(rd.entries);
    if (this.termOrVoteChanged(rd.hardState)) {
      // Term and vote are fsynced whatever the sync policy, before anything that depends on them leaves.
      await this.storage.setHardState(rd.hardState);
      this.persistedHardState = this.storage.hardState();
    }
    if (!commitOnly) for (const m of rd.messagesAfterPersist) this.opts.transport.send(m);
    this.onSoftState(rd.softState);
    this.publish(Math.min(rd.commitIndex, this.storage.lastIndex()));
    for (const rs of rd.readStates) {
      const read = this.reads.get(rs.context);
      if (!read) continue;
      this.reads.delete(rs.context);
      read.resolve(rs.index);
    }
    this.core.advance(rd);
  }

  /**
   * Whether the Ready persists nothing and moves the commit index: on the leader, the follower
   * acknowledgement that commits produces (its messages tell the followers the new commit index).
   * Its messages then leave on the next turn of the event loop, after the commit is published and
   * the produces it commits have been answered, instead of before: each socket write costs tens of
   * microseconds on loopback. Only persisting must precede a Ready's messages, and they keep their
   * order: every later Ready sends the deferred ones first.
   */
  private commitOnly(rd: Ready): boolean {
    if (rd.snapshot || rd.entries.length > 0 || this.termOrVoteChanged(rd.hardState)) return false;
    return Math.min(rd.commitIndex, this.storage.lastIndex()) > this.published && rd.messages.length + rd.messagesAfterPersist.length > 0;
  }

  /** Whether `hs` changes what must be durable before any message that depends on it leaves. */
  private termOrVoteChanged(hs: HardState | null): hs is HardState {
    return hs !== null && (hs.term !== this.persistedHardState.term || hs.vote !== this.persistedHardState.vote);
  }

  private defer(...batches: readonly Message[][]): void {
    for (const ms of batches) for (const m of ms) this.deferred.push(m);
    this.deferredTimer ??= setImmediate(() => this.sendDeferred());
  }

  /** Sends the deferred messages (a closed node drops them, as Raft allows any message to be lost). */
  private sendDeferred(): void {
    clearImmediate(this.deferredTimer);
    this.deferredTimer = undefined;
    const messages = this.deferred;
    if (messages.length === 0) return;
    this.deferred = [];
    if (!this.closed) for (const m of messages) this.opts.transport.send(m);
  }

  /**
   * Publishes, before `rd` is persisted, what of its commit index is already durable here and not
   * rewritten by it: entries below its first entry (every earlier Ready was persisted in order,
   * and an append only truncates from its first entry). Under pipelined load the Ready that carries
   * one group's commit also carries the next group's entries; publishing after their fsync held
   * every acknowledgement back by one flush. A snapshot replaces the whole log: nothing early.
   */
  private publishStable(rd: Ready): void {
    if (rd.snapshot) return;
    const firstRewritten = rd.entries[0]?.index ?? Number.POSITIVE_INFINITY;
    this.publish(Math.min(rd.commitIndex, this.storage.lastIndex(), firstRewritten - 1));
  }

  private publish(commit: number): void {
    if (commit <= this.published) return;
    this.published = commit;
    this.proposals.settle(commit, (index) => this.storage.term(index));
    this.commitWaiters.notify(commit);
    for (const l of this.commitListeners) l(commit);
  }

  private onSoftState(soft: SoftState): void {
    const was = this.soft;
    this.soft = soft;
    if (was.role === soft.role && was.leader === soft.leader && was.term === soft.term) return;
    this.log.info({ role: soft.role, leader: soft.leader, term: soft.term }, 'raft state changed');
    if (soft.leader !== null && this.leaderWaiters.length > 0) {
      const waiters = this.leaderWaiters;
      this.leaderWaiters = [];
      for (const w of waiters) w();
    }
    if (soft.role === 'leader' && was.role !== 'leader') {
      const { config } = this.core.status();
      for (const id of [...config.voters, ...config.learners]) this.followerSeenTick.set(id, this.ticks);
    }
    if (was.role === 'leader' && soft.role !== 'leader') {
      // Rule 6: never retried by us; the client learns the outcome is unknown.
      this.failAll(new UnavailableError('leadership was lost; the outcome of this request is unknown', undefined));
    }
    this.opts.onSoftState?.(soft);
  }

  /** Queued tasks never run once the loop stops for good: their callers must not wait forever. */
  private rejectTasks(err: Error): void {
    for (const t of this.tasks.splice(0)) t.reject(err);
  }

  private failAll(err: Error, pendingErr?: (index: number) => Error): void {
    this.proposals.failAll(err, pendingErr);
    for (const r of this.reads.values()) r.reject(err);
    this.reads.clear();
  }

  /** A storage failure: stop taking part (never acknowledge after a failed write or fsync). */
  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = asError(err);
    this.log.error({ err: this.failed }, 'raft node stopped after a storage failure');
    this.failAll(new LogFailedError(this.failed));
    this.rejectTasks(new LogFailedError(this.failed));
    clearInterval(this.ticker);
    // A stopped node leads nothing and knows no leader: GetServers and routing must not send
    // clients here as if it still led (its core is frozen in whatever role it had).
    this.soft = { ...this.soft, role: 'follower', leader: null };
    this.opts.onSoftState?.(this.soft);
  }

  /**
   * A write refused for lack of space, and undone: the log and hard-state files are as before the
   * Ready (the log writer fails itself, with LogFailedError, when it cannot undo or an fsync fails;
   * those stay fatal). The core still holds the Ready's entries as written, so it is replaced by
   * one restarted from durable state, exactly as a crash and restart would (a leader steps down).
   * Proposals beyond the durable end were not written here: a sole voter's cannot be anywhere
   * else (DiskFullError); with other voters they may have been replicated (outcome unknown).
   */
  private restartAfterDiskFull(err: DiskFullError): void {
    const now = Date.now();
    if (now - this.diskFullReportedAt >= DISK_FULL_REPORT_MS) {
      this.diskFullReportedAt = now;
      this.log.warn({ err }, 'a write failed: the disk is full; raft restarts from its durable state and retries');
    }
    const { config } = this.core.status();
    const soleVoter = config.voters.length === 1 && config.voters[0] === this.id;
    const durableEnd = this.storage.lastIndex();
    const unknown = new UnavailableError('this node ran out of disk space; the outcome of this request is unknown');
    // A sole voter's proposal beyond the durable end was written nowhere: a plain refusal.
    this.failAll(soleVoter ? err : unknown, (index) => (soleVoter && index > durableEnd ? err : unknown));
    this.coreNow = new RaftCore(this.opts.raft, this.storage, this.opts.random);
    this.persistedHardState = this.storage.hardState();
    const st = this.core.status();
    this.onSoftState({ role: st.role, leader: st.leader, term: st.term });
  }

  /**
   * Writes the commit index when it moved (a lower bound; never above the durable end). Runs as
   * part of the persistence loop (`running`), so it never races a term/vote write.
   */
  private async persistCommitLazily(): Promise<void> {
    if (this.running || this.failed || this.published <= this.persistedHardState.commit) return;
    this.running = true;
    try {
      await this.storage.setHardState({ ...this.persistedHardState, commit: this.published });
      this.persistedHardState = this.storage.hardState();
    } catch (err) {
      // The hard-state file is replaced atomically: a full disk leaves the old one; retry later.
      if (!(err instanceof DiskFullError)) this.fail(err);
    } finally {
      this.running = false;
    }
    if (!this.closed && (this.proposals.hasQueued || this.tasks.length > 0 || this.core.hasReady())) this.schedule();
  }
}
