import type { ClusterConfig, Message, NodeId, RaftOptions } from '../../src/raft/core/types.js';
import { MemoryStorage } from '../../src/raft/core/memory-storage.js';
import type { Prng } from '../../src/util/prng.js';
import { SafetyChecker } from './checker.js';
import { EventQueue } from './event-queue.js';
import { CALM_NETWORK, nameOf, SimNetwork } from './network.js';
import { SimNode, type DriverBug, type NodeEnv, type PersistTimingMs } from './sim-node.js';
import { formatMessage, type TraceSink } from './trace.js';
import { violation, type SimClock } from './violation.js';
import { Workload } from './workload.js';

type SimEvent =
  | { atMs: number; kind: 'tick'; name: string; epoch: number }
  | { atMs: number; kind: 'restart'; name: string; epoch: number }
  | { atMs: number; kind: 'persist'; name: string; epoch: number; job: number };

export interface ClusterOptions {
  /** Voters of the bootstrap configuration; one more node starts as a spare. */
  voters: number;
  raft: Omit<RaftOptions, 'id'>;
  persist: PersistTimingMs;
  /** Each node ticks every tickMinMs..tickMaxMs (fixed per node: clocks run at different rates). */
  tickMinMs: number;
  tickMaxMs: number;
  maxEvents: number;
  maxInflightMsgs: number;
  /** Bound on events handled in one runUntil call (a runaway loop is a failure). */
  maxEventsPerRun: number;
  driverBug: DriverBug;
}

/**
 * The simulated world: nodes, their disks, the network and the event queue of ticks and disk
 * completions, all driven by one seeded PRNG. It is the NodeEnv of every node and feeds the
 * checker and the workload.
 */
export class Cluster implements NodeEnv {
  readonly checker: SafetyChecker;
  readonly workload: Workload;
  readonly network: SimNetwork;
  readonly nodes: SimNode[] = [];
  /** Identities whose disk is gone (wiped or decommissioned): they never come back. */
  readonly deadIds = new Set<NodeId>();
  readonly bootstrapConfig: ClusterConfig;
  /** Messages sent, by type. */
  readonly sent: Record<string, number> = {};
  /**
   * Probability that a node crashes right after a persist completes (its promises just went
   * out) and restarts up to persistCrashRestartMs later: the moments where durability bugs show.
   */
  persistCrashRate = 0;
  readonly stats = { persistCrashes: 0 };
  private readonly events: EventQueue<SimEvent>;

  constructor(
    readonly clock: SimClock,
    private readonly prng: Prng,
    private readonly opts: ClusterOptions,
    readonly trace: TraceSink | null,
  ) {
    this.checker = new SafetyChecker(clock);
    this.checker.watchDurableLogs(() => this.nodes);
    this.workload = new Workload(clock, this.checker, trace);
    this.network = new SimNetwork(prng.fork(), { ...CALM_NETWORK }, opts.maxInflightMsgs);
    this.events = new EventQueue<SimEvent>(opts.maxEvents);
    const names = Array.from({ length: opts.voters + 1 }, (_, i) => `n${i + 1}`);
    const ids = names.map((n) => this.newId(n));
    this.bootstrapConfig = { voters: ids.slice(0, opts.voters), learners: [] };
    names.forEach((name, i) => {
      const storage = i < opts.voters ? MemoryStorage.bootstrap(this.bootstrapConfig) : MemoryStorage.empty();
      const tick = opts.tickMinMs + prng.int(opts.tickMaxMs - opts.tickMinMs + 1);
      const node = new SimNode(name, ids[i]!, storage, tick, prng.fork(), opts.persist, (id) => ({ ...opts.raft, id }), this);
      this.nodes.push(node);
    });
  }

  get driverBug(): DriverBug {
    return this.opts.driverBug;
  }

  get nowMs(): number {
    return this.clock.nowMs;
  }

  startAll(): void {
    for (const n of this.nodes) this.start(n);
  }

  start(node: SimNode): void {
    if (node.alive) return;
    node.start();
    this.trace?.(`${node.id} start term=${node.term} commit=${node.applied} last=${node.storage.lastIndex()}`);
    this.events.push({ atMs: this.nowMs + node.tickIntervalMs, kind: 'tick', name: node.name, epoch: node.epoch });
  }

  crash(node: SimNode): void {
    if (!node.alive) return;
    this.workload.onCrash(node);
    node.crash();
    this.trace?.(`${node.id} crash`);
  }

  /** Crash, lose the disk, come back as a new identity (not a member until added). */
  wipe(node: SimNode): void {
    this.crash(node);
    const old = node.id;
    this.deadIds.add(old);
    node.wipe(this.newId(node.name));
    this.trace?.(`${old} wiped; ${node.name} returns as ${node.id}`);
    this.start(node);
  }

  /** The live node that leads the highest term, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.nodes) {
      if (n.alive && n.role === 'leader' && (best === null || n.term > best.term)) best = n;
    }
    return best;
  }

  nodeFor(id: NodeId): SimNode | undefined {
    const n = this.nodes.find((x) => x.name === nameOf(id));
    return n !== undefined && n.id === id ? n : undefined;
  }

  /** Runs every event due up to `endMs`, in time order (messages first on ties). */
  runUntil(endMs: number): void {
    for (let handled = 0; ; handled++) {
      if (handled > this.opts.maxEventsPerRun) {
        throw violation(this.clock, 'simulator bound', `more than ${this.opts.maxEventsPerRun} events before ${endMs}ms`);
      }
      const tn = this.network.peekTimeMs();
      const te = this.events.peekTimeMs();
      const t = Math.min(tn, te);
      if (t > endMs) break;
      this.clock.nowMs = t;
      if (tn <= te) this.deliverNext(t);
      else this.handle(this.events.popDue(t)!);
    }
    this.clock.nowMs = endMs;
  }

  // NodeEnv

  send(msg: Message): void {
    this.sent[msg.type] = (this.sent[msg.type] ?? 0) + 1;
    if (msg.type === 'RequestVoteResponse' && msg.granted && !msg.pre) {
      this.checker.observeVoteGranted(msg.from, msg.term, msg.to);
    }
    const copies = this.network.send(msg, this.nowMs);
    if (this.trace) this.trace(`send ${formatMessage(msg)}${copies === 1 ? '' : copies === 0 ? ' (lost)' : ' (x2)'}`);
  }

  schedulePersist(node: SimNode, job: number, delayMs: number): void {
    this.events.push({ atMs: this.nowMs + delayMs, kind: 'persist', name: node.name, epoch: node.epoch, job });
  }

  onCommitted(node: SimNode, from: number, to: number): void {
    this.trace?.(`${node.id} commit ${from} -> ${to}`);
    this.workload.onCommitted(node, to);
  }

  onNewLeader(node: SimNode, term: number): void {
    this.trace?.(`${node.id} leads term ${term}`);
  }

  private deliverNext(nowMs: number): void {
    const out = this.network.popDue(nowMs);
    if (out === null) return;
    const node = this.nodeFor(out.msg.to);
    if (out.kind === 'drop' || node === undefined || !node.alive) {
      if (this.trace) this.trace(`drop ${formatMessage(out.msg)} (${out.kind === 'drop' ? out.reason : 'no such node'})`);
      return;
    }
    if (this.trace) this.trace(`deliver ${formatMessage(out.msg)}`);
    node.deliver(out.msg);
  }

  private handle(ev: SimEvent): void {
    const node = this.nodes.find((n) => n.name === ev.name);
    if (node === undefined || node.epoch !== ev.epoch) return;
    if (ev.kind === 'restart') {
      this.start(node);
      return;
    }
    if (!node.alive) return;
    if (ev.kind === 'persist') {
      node.persistDone(ev.job);
      if (node.epoch === ev.epoch && this.prng.chance(this.persistCrashRate)) this.crashAfterPersist(node);
      return;
    }
    this.trace?.(`${node.id} tick`);
    node.tick();
    if (node.epoch === ev.epoch) {
      this.events.push({ atMs: this.nowMs + node.tickIntervalMs, kind: 'tick', name: node.name, epoch: node.epoch });
    }
  }

  private crashAfterPersist(node: SimNode): void {
    this.crash(node);
    this.stats.persistCrashes++;
    // The restart event belongs to the crashed life: start() bumps the epoch again.
    this.events.push({ atMs: this.nowMs + this.prng.int(16), kind: 'restart', name: node.name, epoch: node.epoch });
  }

  private newId(name: string): NodeId {
    return `${name}/${this.prng.nextUint32().toString(16).padStart(8, '0')}`;
  }
}
