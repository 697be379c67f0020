/**
 * Start-up decisions (ARCHITECTURE 7, the address and start-up contract, and 3a rule 3), pure so
 * they can be tested without processes. Gossip tags carry what a node knows of itself: its Raft
 * identity, and once it belongs to a cluster, the cluster's id and initial offset.
 */
import { createHash } from 'node:crypto';
import type { ClusterConfig, NodeId } from '../raft/core/types.js';

/** What a member publishes in its gossip tags (see agent.ts: TAG_*). */
export interface PeerState {
  id: NodeId;
  /** The cluster this member's Raft state belongs to; undefined when its data dir is empty. */
  cluster?: string;
  /** The cluster's initial user offset (fixed at bootstrap). */
  initialOffset?: number;
}

export type StartDecision =
  | { type: 'bootstrap'; config: ClusterConfig; clusterId: string }
  | { type: 'join'; clusterId: string; initialOffset: number }
  | { type: 'wait'; reason: string };

/**
 * For a node with an empty data dir, started with `--bootstrap-expect N` (expect = N) or to join
 * (expect = null). `peers` includes this node. Bootstraps only with exactly N members that all
 * have empty state; joins a cluster as soon as a member reports one (never two different ones).
 */
export function decideStart(self: NodeId, peers: readonly PeerState[], expect: number | null): StartDecision {
  const clusters = new Map<string, number>();
  for (const p of peers) if (p.cluster !== undefined && p.initialOffset !== undefined) clusters.set(p.cluster, p.initialOffset);
  if (clusters.size > 1) {
    return { type: 'wait', reason: `members report different clusters (${[...clusters.keys()].join(', ')}); refusing to pick one` };
  }
  const [existing] = [...clusters.entries()];
  if (existing) return { type: 'join', clusterId: existing[0], initialOffset: existing[1] };
  if (expect === null) return { type: 'wait', reason: 'waiting for a member of a cluster to appear in gossip' };
  const ids = [...new Set(peers.map((p) => p.id))].sort();
  if (!ids.includes(self)) return { type: 'wait', reason: 'this node is not in its own member list yet' };
  if (ids.length < expect) return { type: 'wait', reason: `${ids.length} of ${expect} expected members known (${ids.join(', ')})` };
  if (ids.length > expect) {
    return { type: 'wait', reason: `${ids.length} members with empty state known, but --bootstrap-expect is ${expect}: not bootstrapping` };
  }
  const config = { voters: ids, learners: [] };
  return { type: 'bootstrap', config, clusterId: clusterIdOf(config) };
}

/** A cluster id every bootstrapping node derives identically from the initial configuration. */
export function clusterIdOf(config: ClusterConfig): string {
  const h = createHash('sha256');
  for (const id of [...config.voters].sort()) h.update(`${id}\n`);
  return h.digest('hex').slice(0, 16);
}
