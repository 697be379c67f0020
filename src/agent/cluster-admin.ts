/**
 * The admin operations of one agent (log.v1.Admin, src/server/admin-service.ts) over its Raft
 * node: status, leadership transfer, membership changes, truncation.
 *
 * Membership changes run on the leader only; elsewhere they throw NotLeaderError naming the
 * leader's address (the client follows it). A change refused because another one is pending (the
 * gossip reconciler's, say) or the leader's noop is not committed yet is retried here until
 * `changeTimeoutMs`. A removal puts the identity on the removed list first (removed-members.ts),
 * so the reconciler never adds it straight back while it is still alive in gossip; add-learner
 * takes it off. Removing the leader itself first hands leadership to another voter, then answers
 * "not the leader" with the new leader, which then removes the old one.
 */
import { InvalidArgumentError, NotLeaderError, RaftRefusedError, TimeoutError, UnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RaftStatus } from '../raft/core/raft.js';
import type { ConfigChange, NodeId } from '../raft/core/types.js';
import type { RaftNode } from '../raft/node.js';
import type { RaftReplicatedLog } from '../raft/raft-replicated-log.js';
import { nodeName } from '../raft/raft-replicated-log.js';
import type { AdminOperations, ClusterView, MemberView } from '../server/admin-service.js';
import type { AddressBook } from './address-book.js';
import type { ClusterManager } from './cluster-manager.js';

export interface ClusterAdminOptions {
  self: NodeId;
  addresses: AddressBook;
  manager: ClusterManager;
  logger: Logger;
  /** The agent's leave (admin Leave). */
  leave: () => Promise<boolean>;
  /** Upper bound of one election timeout (ms): transfers complete within two of them. */
  electionTimeoutMs: number;
  /** How long a membership change is retried while the leader is busy with another one. */
  changeTimeoutMs?: number;
  onConfigChange?: (change: ConfigChange, source: 'auto' | 'admin') => void;
}

interface RaftParts {
  node: RaftNode;
  log: RaftReplicatedLog;
}

const retryDelayMs = 50;

/**
 * The voter a leader hands leadership to: the reachable voter with the highest match index
 * (undefined when there is none).
 */
export function transferTarget(status: RaftStatus, self: NodeId, reachable: (id: NodeId) => boolean): NodeId | undefined {
  let best: { id: NodeId; match: number } | undefined;
  for (const [id, pr] of status.progress) {
    if (id === self || !status.config.voters.includes(id) || !reachable(id)) continue;
    if (!best || pr.match > best.match) best = { id, match: pr.match };
  }
  return best?.id;
}

export class ClusterAdmin implements AdminOperations {
  private raft: RaftParts | undefined;
  /** Highest readable offset when Raft started here (appendedRecords counts from it). */
  private startHighest = 0;
  private readonly log: Logger;

  constructor(private readonly opts: ClusterAdminOptions) {
    this.log = opts.logger.child({ component: 'admin' });
  }

  /** Called once this node runs Raft. */
  attach(parts: RaftParts): void {
    this.raft = parts;
    this.startHighest = parts.log.highestOffset();
  }

  leave(): Promise<boolean> {
    return this.opts.leave();
  }

  status(): ClusterView {
    const self = this.opts.self;
    const raft = this.raft;
    if (!raft) return { id: self, leaderId: '', term: 0, nodes: [this.unknownMember(self, false)] };
    const st = raft.node.status();
    const ids = [...st.config.voters, ...st.config.learners];
    if (!ids.includes(self)) ids.push(self);
    const nodes = ids.sort().map((id) => (id === self ? this.selfView(raft, st) : this.peerView(raft.node, st, id)));
    return { id: self, leaderId: st.leader ?? '', term: st.term, nodes };
  }

  async transferLeadership(to: string | undefined): Promise<string> {
    const node = this.leaderNode();
    const st = node.status();
    const target = to === undefined ? transferTarget(st, this.opts.self, (id) => node.followerActive(id)) : this.resolveMember(st, to);
    if (target === undefined) throw new UnavailableError('no other voter is reachable to take over leadership');
    if (target === this.opts.self) return target;
    node.transferLeadership(target);
    this.log.info({ to: target }, 'transferring leadership');
    await this.waitUntil(() => node.softState().leader === target, 2 * this.opts.electionTimeoutMs, `leadership did not move to ${target} in time`);
    return target;
  }

  async removeNode(idOrName: string): Promise<void> {
    const node = this.leaderNode();
    const id = this.resolveMember(node.status(), idOrName);
    if (id === this.opts.self) {
      // A leader does not remove itself: it hands over, and the new leader removes it.
      const next = await this.transferLeadership(undefined);
      throw new NotLeaderError(next, this.opts.addresses.get(next));
    }
    await this.change({ type: 'remove', id });
  }

  async addLearner(idOrName: string, rpcAddr: string | undefined): Promise<void> {
    const node = this.leaderNode();
    const id = idOrName.includes('/') ? idOrName : this.opts.manager.aliveMemberId(idOrName);
    if (id === undefined) throw new InvalidArgumentError(`gossip knows no alive member named ${idOrName}: give its full id (name/uuid, logged by the node at start)`);
    const { config } = node.status();
    this.opts.manager.unmarkRemoved(id);
    if (config.learners.includes(id) || config.voters.includes(id)) return;
    if (rpcAddr !== undefined) this.opts.addresses.set(id, rpcAddr);
    if (this.opts.addresses.get(id) === undefined) throw new InvalidArgumentError(`no address is known for ${id}: give its rpc address`);
    await this.change({ type: 'addLearner', id });
  }

  async promote(idOrName: string): Promise<void> {
    const node = this.leaderNode();
    const st = node.status();
    const id = this.resolveMember(st, idOrName);
    if (st.config.voters.includes(id)) return;
    await this.change({ type: 'promote', id });
  }

  async truncate(lowest: number): Promise<number> {
    const raft = this.raft;
    if (!raft) throw new UnavailableError('this node has not joined a cluster yet');
    const result = await raft.log.truncate(lowest);
    this.log.info({ lowest, lowestOffset: result }, 'truncated the log');
    return result;
  }

  /** One membership change, retried while the leader is busy with another. */
  private async change(change: ConfigChange): Promise<void> {
    const deadline = Date.now() + (this.opts.changeTimeoutMs ?? 10_000);
    for (;;) {
      const node = this.leaderNode();
      const done = node.changeConfig(change);
      // The entry is appended (and in force) synchronously unless refused: its index is the log end.
      const after = node.status();
      if (change.type === 'remove' && !after.config.voters.includes(change.id) && !after.config.learners.includes(change.id)) {
        this.opts.manager.markRemoved(change.id, after.lastIndex);
      }
      try {
        await done;
        break;
      } catch (err) {
        const busy = err instanceof RaftRefusedError && (err.reason === 'config-pending' || err.reason === 'noop-uncommitted');
        if (!busy || Date.now() >= deadline) throw err;
      }
      await delay(retryDelayMs);
    }
    this.log.info({ change }, 'configuration changed by an operator');
    this.opts.onConfigChange?.(change, 'admin');
  }

  /** The Raft node if it leads; NotLeaderError with the leader's address otherwise. */
  private leaderNode(): RaftNode {
    const node = this.raft?.node;
    if (!node) throw new UnavailableError('this node has not joined a cluster yet');
    const { role, leader } = node.softState();
    if (role === 'leader') return node;
    throw new NotLeaderError(leader ?? undefined, leader === null ? undefined : this.opts.addresses.get(leader));
  }

  /** A member of the configuration by full id or by name (unique). */
  private resolveMember(st: RaftStatus, idOrName: string): NodeId {
    const members = [...st.config.voters, ...st.config.learners];
    if (members.includes(idOrName)) return idOrName;
    const named = members.filter((m) => nodeName(m) === idOrName);
    if (named.length === 1 && named[0] !== undefined) return named[0];
    if (named.length > 1) throw new InvalidArgumentError(`${idOrName} names several members (${named.join(', ')}): give the full id`);
    throw new InvalidArgumentError(`${idOrName} is not a member of the configuration (members: ${members.map(nodeName).join(', ')})`);
  }

  private selfView(raft: RaftParts, st: RaftStatus): MemberView {
    const pr = st.progress.get(st.id);
    return {
      ...this.unknownMember(st.id, st.config.voters.includes(st.id)),
      role: st.role,
      term: st.term,
      commitIndex: raft.node.commitIndex(),
      lastIndex: st.lastIndex,
      matchIndex: pr?.match ?? st.lastIndex,
      lagEntries: 0,
      reachable: true,
      lowestOffset: raft.log.lowestOffset(),
      highestOffset: Math.max(0, raft.log.highestOffset()),
      appendedRecords: Math.max(0, raft.log.highestOffset() - this.startHighest),
    };
  }

  /** On the leader: what progress tracking says; elsewhere: the leader flagged, the rest unknown. */
  private peerView(node: RaftNode, st: RaftStatus, id: NodeId): MemberView {
    const view = this.unknownMember(id, st.config.voters.includes(id));
    const pr = st.progress.get(id);
    if (st.role !== 'leader' || !pr) return id === st.leader ? { ...view, role: 'leader', term: st.term, reachable: true } : view;
    const reachable = node.followerActive(id);
    const learner = st.config.learners.includes(id);
    return {
      ...view,
      role: learner ? 'learner' : reachable ? 'follower' : 'unknown',
      term: reachable ? st.term : 0,
      commitIndex: Math.min(st.commit, pr.match),
      lastIndex: pr.match,
      matchIndex: pr.match,
      lagEntries: Math.max(0, st.lastIndex - pr.match),
      reachable,
    };
  }

  private unknownMember(id: NodeId, voter: boolean): MemberView {
    return {
      id,
      rpcAddr: this.opts.addresses.get(id) ?? '',
      role: 'unknown',
      term: 0,
      commitIndex: 0,
      lastIndex: 0,
      matchIndex: 0,
      lagEntries: 0,
      reachable: false,
      voter,
      lowestOffset: 0,
      highestOffset: 0,
      appendedRecords: 0,
    };
  }

  private async waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() >= deadline) throw new TimeoutError(what);
      await delay(10);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
