import { RaftCore } from '../../src/raft/core/index.js';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import type { Entry, Message, NodeId, RaftOptions, Ready, Role, SnapshotMeta } from '../../src/raft/core/types.js';
import type { Prng } from '../../src/util/prng.js';
import type { SafetyChecker } from './checker.js';
import { formatReady, type TraceSink } from './trace.js';

const ALL_BYTES = Number.MAX_SAFE_INTEGER;

/**
 * Deliberate driver mistakes, to prove the checkers catch them: `forget-vote` persists the hard
 * state without the vote; `send-before-persist` sends messagesAfterPersist before persisting.
 */
export type DriverBug = 'none' | 'forget-vote' | 'send-before-persist';

/** What a node's driver needs from the simulated world around it. */
export interface NodeEnv {
  readonly driverBug: DriverBug;
  readonly checker: SafetyChecker;
  readonly trace: TraceSink | null;
  send(msg: Message): void;
  /** Completes the node's current persist job `job` after `delayMs` of simulated time. */
  schedulePersist(node: SimNode, job: number, delayMs: number): void;
  /** Entries (from, to] became committed on `node` (some may be known only through `node.termAt`). */
  onCommitted(node: SimNode, from: number, to: number): void;
  /** `node` was seen leading `term` for the first time. */
  onNewLeader(node: SimNode, term: number): void;
}

export interface PersistTimingMs {
  minMs: number;
  maxMs: number;
}

interface PendingPersist {
  job: number;
  ready: Ready;
}

/**
 * One simulated server: a RaftCore over a simulated disk (a MemoryStorage that holds exactly what
 * was made durable) and a driver that follows the Ready contract: send `messages`, persist
 * (taking simulated time), then send `messagesAfterPersist`, apply the commit, advance. A crash
 * keeps whatever part of the pending persist had reached the disk and loses the rest.
 */
export class SimNode {
  core: RaftCore | null = null;
  /** Bumped on every crash and restart so that events of an earlier life are ignored. */
  epoch = 0;
  /** Index up to which committed entries were handed to the state machine (this life). */
  applied = 0;
  role: Role = 'follower';
  term = 0;
  private pending: PendingPersist | null = null;
  private jobs = 0;

  constructor(
    readonly name: string,
    public id: NodeId,
    public storage: MemoryStorage,
    readonly tickIntervalMs: number,
    private readonly prng: Prng,
    private readonly persistTiming: PersistTimingMs,
    private readonly options: (id: NodeId) => RaftOptions,
    private readonly env: NodeEnv,
  ) {}

  get alive(): boolean {
    return this.core !== null;
  }

  get persisting(): boolean {
    return this.pending !== null;
  }

  /** Builds a core from the durable disk, as a process would after a restart. */
  start(): void {
    this.epoch++;
    this.core = new RaftCore(this.options(this.id), this.storage, this.prng.fork());
    this.applied = this.storage.hardState().commit;
    this.env.checker.observeCommitIndex(this.id, this.applied, true);
    this.observe();
    this.pump();
  }

  /** Stops the node; a pending persist reaches the disk only up to a random point. */
  crash(): void {
    const p = this.pending;
    if (p !== null) {
      const units = (p.ready.snapshot ? 1 : 0) + p.ready.entries.length + (p.ready.hardState ? 1 : 0);
      const kept = this.prng.int(units + 1);
      this.persist(p.ready, kept);
      this.env.trace?.(`${this.id} crash keeps ${kept}/${units} units of persist job ${p.job}`);
    }
    this.pending = null;
    this.core = null;
    this.role = 'follower';
    this.epoch++;
    const hs = this.storage.hardState();
    this.env.checker.checkCommitWithinLog(this.id, hs.commit, this.storage.lastIndex());
  }

  /** The disk is lost; the node comes back as a new identity (ARCHITECTURE 3a rule 2). */
  wipe(newId: NodeId): void {
    if (this.alive) this.crash();
    this.id = newId;
    this.storage = MemoryStorage.empty();
  }

  tick(): void {
    if (this.core === null) return;
    this.core.tick();
    this.afterInput();
  }

  /** Delivers a message addressed to this node's current identity (the caller checks `to`). */
  deliver(msg: Message): void {
    if (this.core === null) return;
    this.core.step(msg);
    this.afterInput();
  }

  /** After proposals or other calls into the core from outside. */
  afterInput(): void {
    this.observe();
    this.pump();
  }

  /** Completes persist job `job` if it is still the pending one. */
  persistDone(job: number): void {
    const p = this.pending;
    if (p === null || p.job !== job || this.core === null) return;
    const r = p.ready;
    this.persist(r, Number.MAX_SAFE_INTEGER);
    if (this.env.trace) this.env.trace(`${this.id} persisted job ${job}: ${formatReady(r)}`);
    if (this.env.driverBug !== 'send-before-persist') for (const m of r.messagesAfterPersist) this.env.send(m);
    this.applyCommit(r);
    this.pending = null;
    this.core.advance(r);
    this.afterInput();
  }

  /** The node's term at `index` as far as the driver can see (disk plus the pending persist). */
  termAt(index: number): number | undefined {
    const p = this.pending?.ready;
    const first = p?.entries[0];
    if (p !== undefined && first !== undefined && index >= first.index) {
      return p.entries[index - first.index]?.term;
    }
    if (p?.snapshot) return index === p.snapshot.index ? p.snapshot.term : undefined;
    const s = this.storage;
    if (index < s.firstIndex() - 1 || index > s.lastIndex()) return undefined;
    return s.term(index);
  }

  /** The durable entry at `index`, when the disk holds it. */
  durableEntry(index: number): Entry | undefined {
    const s = this.storage;
    if (index < s.firstIndex() || index > s.lastIndex()) return undefined;
    return s.entries(index, index + 1, ALL_BYTES)[0];
  }

  private observe(): void {
    const core = this.core;
    if (core === null) return;
    const st = core.status();
    if (st.role !== this.role || st.term !== this.term) {
      this.env.trace?.(`${this.id} role ${this.role}@${this.term} -> ${st.role}@${st.term} leader=${st.leader ?? '-'}`);
      this.role = st.role;
      this.term = st.term;
    }
    if (st.role === 'leader' && this.env.checker.observeLeader(this.id, st.term)) {
      this.env.checker.checkLeaderCompleteness(this.id, st.term, st.lastIndex, (i) => this.termAt(i));
      this.env.onNewLeader(this, st.term);
    }
  }

  private pump(): void {
    const core = this.core;
    if (core === null || this.pending !== null || !core.hasReady()) return;
    const r = core.ready();
    this.checkWrite(r);
    for (const m of r.messages) this.env.send(m);
    if (this.env.driverBug === 'send-before-persist') for (const m of r.messagesAfterPersist) this.env.send(m);
    const job = ++this.jobs;
    this.pending = { job, ready: r };
    const t = this.persistTiming;
    this.env.schedulePersist(this, job, t.minMs + this.prng.int(t.maxMs - t.minMs + 1));
  }

  private checkWrite(r: Ready): void {
    const first = r.entries[0];
    if (first === undefined) return;
    let prevTerm: number | undefined;
    if (r.snapshot) prevTerm = first.index === r.snapshot.index + 1 ? r.snapshot.term : undefined;
    else prevTerm = this.termAt(first.index - 1);
    this.env.checker.observeWrite(this.id, prevTerm, r.entries);
  }

  /** Makes the first `units` parts of `r` durable: snapshot, then each entry, then the hard state. */
  private persist(r: Ready, units: number): void {
    this.persistUnits(r, units);
    const checker = this.env.checker;
    checker.checkCommitWithinLog(this.id, this.storage.hardState().commit, this.storage.lastIndex());
    checker.checkDurableLog(this);
  }

  private persistUnits(r: Ready, units: number): void {
    let left = units;
    if (r.snapshot) {
      if (left-- <= 0) return;
      this.installSnapshot(r.snapshot);
    }
    const n = Math.min(left, r.entries.length);
    if (n > 0) this.appendEntries(n < r.entries.length ? r.entries.slice(0, n) : r.entries);
    left -= n;
    if (n < r.entries.length) return;
    if (r.hardState && left > 0) {
      const forget = this.env.driverBug === 'forget-vote';
      this.storage.setHardState(forget ? { ...r.hardState, vote: null } : r.hardState);
    }
  }

  private appendEntries(entries: readonly Entry[]): void {
    const s = this.storage;
    const first = entries[0]!;
    const from = Math.max(first.index, s.firstIndex());
    if (from <= s.lastIndex()) {
      const removed = s.entries(from, s.lastIndex() + 1, ALL_BYTES);
      this.env.checker.observeRemoval(this.id, removed, (i) => entries[i - first.index]?.term);
    }
    s.append(entries);
  }

  private installSnapshot(snap: SnapshotMeta): void {
    const s = this.storage;
    const from = Math.max(snap.index + 1, s.firstIndex());
    const before = from <= s.lastIndex() ? s.entries(from, s.lastIndex() + 1, ALL_BYTES) : [];
    this.env.checker.observeCommittedTerm(this.id, snap.index, snap.term);
    s.applySnapshot(snap);
    this.env.checker.observeRemoval(this.id, before, (i) => this.termAt(i));
    this.env.checker.checkExposure();
    this.env.trace?.(`${this.id} installed snapshot ${snap.index}/${snap.term}`);
  }

  private applyCommit(r: Ready): void {
    const commit = r.commitIndex;
    const checker = this.env.checker;
    checker.observeCommitIndex(this.id, commit);
    checker.checkCommitWithinLog(this.id, commit, this.storage.lastIndex());
    if (commit <= this.applied) return;
    const lo = Math.max(this.applied + 1, this.storage.firstIndex());
    if (lo <= commit) {
      for (const e of this.storage.entries(lo, commit + 1, ALL_BYTES)) checker.observeCommitted(this.id, e);
    }
    checker.checkExposure();
    const from = this.applied;
    this.applied = commit;
    this.env.onCommitted(this, from, commit);
  }
}
