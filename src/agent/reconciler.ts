/**
 * The leader's membership policy (ARCHITECTURE 4 and 3a rules 2, 4, 13): given what gossip knows
 * and the current Raft configuration, the ONE next configuration change to make, if any. Pure: the
 * agent calls it on every gossip event and periodically, applies the change, waits for it to
 * commit, and asks again (the core refuses a second change while one is pending anyway).
 *
 * - A member gossip sees alive whose identity (name/uuid) is not in the configuration is added as
 *   a learner; a learner that caught up is promoted.
 * - A member that came back with a wiped disk (same name, new uuid) is a replacement: its new
 *   identity is added as a learner, the old identity removed, the new one promoted after catch-up.
 *   A replacement is not a shrink, so the voter floor does not apply to it.
 * - A member that left explicitly is removed. A restart or a crash is not a departure: a failed
 *   member stays a voter until `reapTimeoutMs` passes, and automatic removal never takes the
 *   number of voters below `minVoters` (the bootstrap-expect size).
 * - The leader never removes itself here; leaving is the agent's explicit leave path (transfer
 *   leadership first).
 * - An identity an operator removed (`replog admin remove`, see removed-members.ts) is never added
 *   back automatically, even while it is alive in gossip; `admin add-learner` or a wiped data dir
 *   (a new identity) brings it back.
 */
import type { ClusterConfig, ConfigChange, NodeId } from '../raft/core/types.js';
import { nodeName } from '../raft/raft-replicated-log.js';

export interface KnownMember {
  /** Full Raft identity `name/uuid` (from the gossip tags). */
  id: NodeId;
  name: string;
  state: 'alive' | 'suspect' | 'dead' | 'left';
  /** When the member entered its current state (ms, the agent's clock). */
  sinceMs: number;
}

export interface ReconcileInput {
  self: NodeId;
  config: ClusterConfig;
  /** Replication progress of every member, from the leader's status. */
  match: ReadonlyMap<NodeId, number>;
  lastIndex: number;
  members: readonly KnownMember[];
  nowMs: number;
  /** Remove voters that have been dead this long; null: never automatically. */
  reapTimeoutMs: number | null;
  /** Never shrink below this many voters automatically. */
  minVoters: number;
  /** A learner within this many entries of the leader's last index counts as caught up. */
  promoteLagEntries: number;
  /** Identities an operator removed: never added back automatically. */
  isRemoved?: (id: NodeId) => boolean;
}

export interface Decision {
  change: ConfigChange;
  why: string;
}

export function nextConfigChange(input: ReconcileInput): Decision | null {
  const { config, self } = input;
  const byId = new Map(input.members.map((m) => [m.id, m]));
  const inConfig = new Set([...config.voters, ...config.learners]);
  const caughtUp = (id: NodeId): boolean => input.lastIndex - (input.match.get(id) ?? 0) <= input.promoteLagEntries;
  const namesakes = (id: NodeId, list: readonly NodeId[]): NodeId[] => list.filter((o) => o !== id && nodeName(o) === nodeName(id));

  // 1. Departures announced by the member itself.
  for (const id of [...config.learners, ...config.voters]) {
    if (id !== self && byId.get(id)?.state === 'left') return { change: { type: 'remove', id }, why: `${id} left the cluster` };
  }
  // 2. Replacements in progress: the new identity is a learner, so the old one goes.
  for (const learner of config.learners) {
    for (const old of namesakes(learner, config.voters)) {
      if (old !== self) return { change: { type: 'remove', id: old }, why: `${learner} replaces ${old} (wiped data dir)` };
    }
  }
  // 3. Learners superseded by a newer identity of the same name (wiped again while catching up).
  for (const learner of config.learners) {
    if (input.members.some((o) => o.id !== learner && o.name === nodeName(learner) && o.state === 'alive' && byId.get(learner)?.state !== 'alive')) {
      return { change: { type: 'remove', id: learner }, why: `${learner} was superseded by a newer identity` };
    }
  }
  // 4. Learners that caught up become voters.
  for (const learner of config.learners) {
    const m = byId.get(learner);
    if (m?.state === 'alive' && caughtUp(learner)) return { change: { type: 'promote', id: learner }, why: `${learner} caught up` };
  }
  // 5. New members (or new identities of known names).
  for (const m of input.members) {
    if (m.state !== 'alive' || inConfig.has(m.id) || m.id === self || input.isRemoved?.(m.id) === true) continue;
    const replaces = namesakes(m.id, [...inConfig]);
    return {
      change: { type: 'addLearner', id: m.id },
      why: replaces.length > 0 ? `${m.id} is a new identity of ${replaces.join(', ')}` : `${m.id} joined`,
    };
  }
  // 6. Learners dead past the reap timeout.
  for (const learner of config.learners) {
    const m = byId.get(learner);
    if (m && reapable(m, input)) return { change: { type: 'remove', id: learner }, why: `${learner} has been dead for too long` };
  }
  // 7. Voters dead past the reap timeout, never below the floor.
  if (config.voters.length > input.minVoters) {
    for (const id of config.voters) {
      const m = byId.get(id);
      if (id !== self && m && reapable(m, input)) return { change: { type: 'remove', id }, why: `${id} has been dead for ${input.nowMs - m.sinceMs} ms` };
    }
  }
  return null;
}

function reapable(m: KnownMember, input: ReconcileInput): boolean {
  return m.state === 'dead' && input.reapTimeoutMs !== null && input.nowMs - m.sinceMs >= input.reapTimeoutMs;
}
