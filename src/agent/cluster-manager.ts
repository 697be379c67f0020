/**
 * Wires gossip membership to Raft (ARCHITECTURE 4; rules 2, 3, 13): publishes this node's tags,
 * keeps the address book current, decides how an empty node starts (bootstrap or join), and on the
 * leader turns membership into configuration changes, one at a time, on every gossip event and
 * periodically (so events from before its election are not lost).
 */
import { ReplogError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Member, Membership } from '../membership/index.js';
import type { ClusterConfig, ConfigChange, NodeId } from '../raft/core/types.js';
import type { RaftNode } from '../raft/node.js';
import type { AddressBook } from './address-book.js';
import { decideStart, type PeerState, type StartDecision } from './bootstrap.js';
import { nextConfigChange, type KnownMember } from './reconciler.js';
import { RemovedMembers } from './removed-members.js';

/** Gossip tag keys. */
export const TAG_ID = 'id';
export const TAG_RPC = 'rpc';
export const TAG_CLUSTER = 'cluster';
export const TAG_INITIAL_OFFSET = 'ioff';
/** Identities removed by an operator (removed-members.ts), spread to every node. */
export const TAG_REMOVED = 'rm';
/** Room left for TAG_REMOVED within the gossip tag limit (512 bytes with the other tags). */
const removedTagMaxChars = 200;

export interface ClusterManagerOptions {
  self: NodeId;
  rpcAddr: string;
  membership: Membership;
  addresses: AddressBook;
  logger: Logger;
  reapTimeoutMs: number | null;
  minVoters: number;
  promoteLagEntries: number;
  reconcileIntervalMs: number;
  /** Called after a configuration change this node made as leader committed. */
  onConfigChange?: (change: ConfigChange, source: 'auto' | 'admin') => void;
}

export class ClusterManager {
  private node: RaftNode | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private closed = false;
  private readonly since = new Map<string, { state: Member['state']; sinceMs: number }>();
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;
  private lastWaitReason = '';
  private baseTags: Record<string, string> = {};
  /** Identities an operator removed: the reconciler never adds them back (removed-members.ts). */
  readonly removed = new RemovedMembers();

  constructor(private readonly opts: ClusterManagerOptions) {
    this.log = opts.logger.child({ component: 'cluster' });
  }

  /** Starts following gossip. */
  start(): void {
    this.unsubscribe = this.opts.membership.on(() => {
      this.refreshAddresses();
      this.mergeRemoved();
      this.kick();
    });
    this.refreshAddresses();
  }

  /** Publishes the cluster this node belongs to (so empty nodes join it rather than bootstrap). */
  publishCluster(clusterId: string | undefined, initialOffset: number | undefined): void {
    const tags: Record<string, string> = { [TAG_ID]: this.opts.self, [TAG_RPC]: this.opts.rpcAddr };
    if (clusterId !== undefined && initialOffset !== undefined) {
      tags[TAG_CLUSTER] = clusterId;
      tags[TAG_INITIAL_OFFSET] = String(initialOffset);
    }
    this.baseTags = tags;
    this.publishTags();
  }

  /** Records an operator's removal of `id` (Raft index `index`) and spreads it through gossip. */
  markRemoved(id: NodeId, index: number): void {
    this.removed.add(id, index);
    this.publishTags();
  }

  /** An operator added `id` back: the reconciler may manage it again. */
  unmarkRemoved(id: NodeId): void {
    if (!this.removed.has(id)) return;
    this.removed.delete(id);
    this.publishTags();
  }

  /** The identity gossip knows for an alive member named `name`, if exactly one. */
  aliveMemberId(name: string): NodeId | undefined {
    const ids = this.known().filter((m) => m.name === name && m.state === 'alive').map((m) => m.id);
    return ids.length === 1 ? ids[0] : undefined;
  }

  private publishTags(): void {
    const removed = this.removed.encode(removedTagMaxChars);
    this.opts.membership.setTags(removed === '' ? this.baseTags : { ...this.baseTags, [TAG_REMOVED]: removed });
  }

  private mergeRemoved(): void {
    let changed = false;
    for (const m of this.opts.membership.members()) {
      if (m.state === 'alive' && this.removed.merge(m.tags[TAG_REMOVED])) changed = true;
    }
    if (changed) this.publishTags();
  }

  /** Forgets removals of identities that were added back (seen from this node's log). */
  private pruneRemoved(node: RaftNode): void {
    const { config } = node.status();
    if (this.removed.prune(config, node.commitIndex())) this.publishTags();
  }

  /**
   * For an empty node: polls gossip until it may bootstrap or has a cluster to join
   * (`expect` null = join only). Logs why it waits, once per reason.
   */
  async awaitStartDecision(expect: number | null, signal: AbortSignal): Promise<Exclude<StartDecision, { type: 'wait' }>> {
    for (;;) {
      signal.throwIfAborted();
      const decision = decideStart(this.opts.self, this.peers(), expect);
      if (decision.type !== 'wait') return decision;
      if (decision.reason !== this.lastWaitReason) {
        this.lastWaitReason = decision.reason;
        this.log.info({ reason: decision.reason }, 'waiting before joining or bootstrapping a cluster');
      }
      await new Promise((r) => setTimeout(r, 100).unref());
    }
  }

  waitReason(): string {
    return this.lastWaitReason || 'starting';
  }

  /** From now on, the leader's policy runs on this node. */
  attach(node: RaftNode): void {
    this.node = node;
    this.timer = setInterval(() => {
      this.pruneRemoved(node);
      this.kick();
    }, this.opts.reconcileIntervalMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  private peers(): PeerState[] {
    const out: PeerState[] = [];
    for (const m of this.opts.membership.members()) {
      if (m.state !== 'alive' && m.state !== 'suspect') continue;
      const id = m.tags[TAG_ID];
      if (id === undefined) continue;
      const cluster = m.tags[TAG_CLUSTER];
      const ioff = m.tags[TAG_INITIAL_OFFSET];
      out.push(cluster !== undefined && ioff !== undefined ? { id, cluster, initialOffset: Number(ioff) } : { id });
    }
    return out;
  }

  private refreshAddresses(): void {
    const now = Date.now();
    for (const m of this.opts.membership.members()) {
      const id = m.tags[TAG_ID];
      const rpc = m.tags[TAG_RPC];
      if (id !== undefined && rpc !== undefined) this.opts.addresses.set(id, rpc);
      const prev = this.since.get(m.name);
      if (!prev || prev.state !== m.state) this.since.set(m.name, { state: m.state, sinceMs: now });
    }
  }

  private known(): KnownMember[] {
    const out: KnownMember[] = [];
    for (const m of this.opts.membership.members()) {
      const id = m.tags[TAG_ID];
      if (id === undefined) continue;
      out.push({ id, name: m.name, state: m.state, sinceMs: this.since.get(m.name)?.sinceMs ?? Date.now() });
    }
    return out;
  }

  /** Runs the leader's policy once, unless a change is already in flight. */
  private kick(): void {
    const node = this.node;
    if (!node || this.busy || this.closed || node.softState().role !== 'leader') return;
    const status = node.status();
    const match = new Map<NodeId, number>();
    for (const [id, pr] of status.progress) match.set(id, pr.match);
    const decision = nextConfigChange({
      self: this.opts.self,
      config: status.config,
      match,
      lastIndex: status.lastIndex,
      members: this.known(),
      nowMs: Date.now(),
      reapTimeoutMs: this.opts.reapTimeoutMs,
      minVoters: this.opts.minVoters,
      promoteLagEntries: this.opts.promoteLagEntries,
      isRemoved: (id) => this.removed.has(id),
    });
    if (!decision) return;
    this.busy = true;
    this.log.info({ change: decision.change, why: decision.why }, 'changing the cluster configuration');
    node
      .changeConfig(decision.change)
      .then(() => {
        this.log.info({ change: decision.change, config: describe(node.status().config) }, 'configuration changed');
        this.opts.onConfigChange?.(decision.change, 'auto');
      })
      .catch((err: unknown) => {
        // Refusals (noop not committed yet, a change pending, leadership lost) are retried on the next kick.
        const level = err instanceof ReplogError ? 'debug' : 'warn';
        this.log[level]({ err, change: decision.change }, 'configuration change not made');
      })
      .finally(() => {
        this.busy = false;
      });
  }
}

function describe(config: ClusterConfig): string {
  return `voters [${config.voters.join(', ')}], learners [${config.learners.join(', ')}]`;
}
