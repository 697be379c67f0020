/**
 * Raft, gossip and peer-transport metrics of one agent, registered on its Prometheus registry and
 * read at scrape time from the running components (nothing is computed on hot paths).
 */
import { Counter, type Registry } from 'prom-client';
import type { Membership } from '../membership/index.js';
import type { ConfigChange, SoftState } from '../raft/core/types.js';
import type { RaftNode } from '../raft/node.js';
import type { TcpTransport } from '../raft/tcp-transport.js';
import { nodeName } from '../raft/raft-replicated-log.js';
import { scrapeGauges } from '../server/scrape-gauge.js';

export interface ClusterMetricSources {
  raft: () => { node: RaftNode; transport: TcpTransport } | undefined;
  membership: Membership;
  /** Bytes of this node's log on disk and the entries it holds (for the lag-in-bytes estimate). */
  logSize?: () => { bytes: number; entries: number } | undefined;
}

export class ClusterMetrics {
  private readonly stateChanges: Counter;
  private readonly leaderChanges: Counter;
  private readonly configChanges: Counter<'type' | 'source'>;
  private lastLeader: string | null = null;

  constructor(registry: Registry, sources: ClusterMetricSources) {
    const registers = [registry];
    const gauge = scrapeGauges(registry);
    const status = () => sources.raft()?.node.status();
    gauge('replog_raft_term', 'Current Raft term', (set) => {
      const s = status();
      if (s) set(s.term);
    });
    gauge('replog_raft_commit_index', 'Raft commit index on this node', (set) => {
      const s = status();
      if (s) set(s.commit);
    });
    gauge('replog_raft_last_index', 'Last Raft index in this node\'s log', (set) => {
      const s = status();
      if (s) set(s.lastIndex);
    });
    gauge('replog_raft_is_leader', '1 when this node leads', (set) => set(status()?.role === 'leader' ? 1 : 0));
    gauge('replog_raft_members', 'Members of the Raft configuration, by kind', (set) => {
      const s = status();
      if (!s) return;
      set(s.config.voters.length, { kind: 'voter' });
      set(s.config.learners.length, { kind: 'learner' });
    }, ['kind']);
    gauge('replog_raft_follower_lag_entries', 'On the leader: entries each member is behind', (set) => {
      const s = status();
      if (!s) return;
      for (const [id, pr] of s.progress) set(Math.max(0, s.lastIndex - pr.match), { peer: nodeName(id) });
    }, ['peer']);
    gauge('replog_raft_follower_lag_bytes', 'On the leader: estimated bytes each member is behind (lag entries x average stored entry size)', (set) => {
      const s = status();
      const size = sources.logSize?.();
      if (!s || !size || size.entries <= 0) return;
      const perEntry = size.bytes / size.entries;
      for (const [id, pr] of s.progress) set(Math.round(Math.max(0, s.lastIndex - pr.match) * perEntry), { peer: nodeName(id) });
    }, ['peer']);
    gauge('replog_gossip_members', 'Gossip members known, by state', (set) => {
      const counts: Record<string, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
      for (const m of sources.membership.members()) counts[m.state] = (counts[m.state] ?? 0) + 1;
      for (const [state, n] of Object.entries(counts)) set(n, { state });
    }, ['state']);
    gauge('replog_gossip_dropped_packets', 'Gossip packets dropped since start, by reason', (set) => {
      const st = sources.membership.stats();
      set(st.droppedMalformed, { reason: 'malformed' });
      set(st.droppedOversize, { reason: 'oversize' });
      set(st.droppedDecrypt, { reason: 'decrypt' });
    }, ['reason']);
    gauge('replog_peer_messages_dropped', 'Raft peer messages dropped since start (unreachable peer, full queue)', (set) => {
      const t = sources.raft()?.transport;
      if (t) set(t.stats.dropped);
    });
    gauge('replog_peer_connections_refused', 'Peer connections refused since start (bad certificate, cluster, protocol)', (set) => {
      const t = sources.raft()?.transport;
      if (t) set(t.stats.rejectedConnections);
    });
    this.stateChanges = new Counter({ name: 'replog_raft_state_changes_total', help: 'Changes of Raft role, leader or term seen by this node', registers });
    this.leaderChanges = new Counter({ name: 'replog_raft_leader_changes_total', help: 'Times this node saw a different node become leader', registers });
    this.configChanges = new Counter({
      name: 'replog_raft_config_changes_total',
      help: 'Configuration changes this node made as leader, once committed, by type and source (auto = gossip policy, admin = operator)',
      labelNames: ['type', 'source'],
      registers,
    });
  }

  /** The RaftNode's onSoftState hook. */
  readonly onLeaderChange = (soft: SoftState): void => {
    this.stateChanges.inc();
    if (soft.leader !== null && soft.leader !== this.lastLeader) {
      this.lastLeader = soft.leader;
      this.leaderChanges.inc();
    }
  };

  /** A configuration change made by this node as leader committed. */
  readonly onConfigChange = (change: ConfigChange, source: 'auto' | 'admin'): void => {
    this.configChanges.inc({ type: change.type, source });
  };
}
