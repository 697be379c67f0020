import type { RaftOptions } from '../../src/raft/core/types.js';
import { Prng } from '../../src/util/prng.js';
import { bytesEqual } from './checker.js';
import { Cluster, type ClusterOptions } from './cluster.js';
import { MembershipController } from './membership.js';
import { Nemesis, rollProfile, type FaultProfile } from './nemesis.js';
import { CALM_NETWORK } from './network.js';
import { Storm } from './storm.js';
import type { DriverBug, SimNode } from './sim-node.js';
import type { TraceSink } from './trace.js';
import { violation, type SimClock } from './violation.js';

/** Simulated milliseconds per step (about one tick of an average node). */
export const STEP_MS = 10;
/** After healing, a leader must appear within this many steps (about 10 election timeouts). */
export const LEADER_DEADLINE_STEPS = 200;
/** ... and a proposal to it must commit, and every member catch up, within this many each. */
export const COMMIT_DEADLINE_STEPS = 200;
const LIVENESS_PROPOSALS = 3;

/** The cluster size a seed runs with when none is given: odd seeds 3 voters, even seeds 5. */
export function nodesForSeed(seed: number): number {
  return seed % 2 === 1 ? 3 : 5;
}

export interface SimOptions {
  seed: number;
  /** Voters at bootstrap (3 or 5); one more node starts as a spare for membership changes. */
  nodes: number;
  /** Steps of faults before healing. */
  steps: number;
  trace?: TraceSink;
  /** See NemesisOptions.wipeDuringConfigChange (default true). */
  wipeDuringConfigChange?: boolean;
  /** A deliberate driver mistake, for testing the checkers (default 'none'). */
  driverBug?: DriverBug;
}

export interface SimResult {
  seed: number;
  nodes: number;
  steps: number;
  profile: FaultProfile;
  /** Highest committed index in the cluster at the end. */
  committedIndex: number;
  acked: number;
  workload: Record<string, number>;
  faults: Record<string, number>;
  membership: Record<string, number>;
  network: Record<string, number>;
  /** Messages sent, by type. */
  sent: Record<string, number>;
  /** Steps after healing until every liveness check passed. */
  recoverySteps: number;
}

export const SIM_RAFT_OPTIONS: Omit<RaftOptions, 'id'> = {
  electionTicks: 10,
  heartbeatTicks: 2,
  preVote: true,
  checkQuorum: true,
  maxInflightMsgs: 4,
  maxInflightBytes: 256,
  maxMsgBytes: 64,
  promoteLagEntriesMax: 20,
  transferLagEntriesMax: 20,
};

/** The simulated cluster the seeded runs use (persist timing drawn from `prng`). */
export function clusterOptions(voters: number, driverBug: DriverBug, prng: Prng): ClusterOptions {
  return {
    voters,
    raft: SIM_RAFT_OPTIONS,
    persist: prng.pick([
      { minMs: 0, maxMs: 2 },
      { minMs: 0, maxMs: 8 },
      { minMs: 2, maxMs: 20 },
    ]),
    tickMinMs: 7,
    tickMaxMs: 14,
    maxEvents: 100_000,
    maxInflightMsgs: 20_000,
    maxEventsPerRun: 200_000,
    driverBug,
  };
}

/**
 * One seeded run: `steps` steps of faults (crashes, partitions, message loss, compaction, wiped
 * disks, membership churn, leadership transfers) under client load, then healing and the liveness
 * checks. Safety is checked continuously; any violation throws a SimViolation with the seed.
 */
export function runSimulation(opts: SimOptions): SimResult {
  const root = new Prng(opts.seed);
  const clock: SimClock = { seed: opts.seed, step: 0, nowMs: 0 };
  const sink = opts.trace;
  const trace = sink ? (line: string): void => sink(`${String(clock.nowMs).padStart(6)}ms s${clock.step} ${line}`) : null;
  const cluster = new Cluster(clock, root.fork(), clusterOptions(opts.nodes, opts.driverBug ?? 'none', root.fork()), trace);
  const membership = new MembershipController(cluster, root.fork(), opts.nodes, SIM_RAFT_OPTIONS.promoteLagEntriesMax ?? 0);
  const nemesisPrng = root.fork();
  const profile = rollProfile(root.fork());
  // Forked after everything else, so that seeds without a storm replay as they did before.
  const storm = profile.storm === null ? null : new Storm(cluster, root.fork(), profile.storm);
  const nemesis = new Nemesis(cluster, membership, nemesisPrng, profile, {
    wipeDuringConfigChange: opts.wipeDuringConfigChange ?? true,
    storm,
  });
  cluster.persistCrashRate = nemesis.profile.persistCrashRate;
  cluster.startAll();
  for (clock.step = 1; clock.step <= opts.steps; clock.step++) {
    nemesis.act(clock.step);
    cluster.runUntil(clock.step * STEP_MS);
  }
  const recoverySteps = heal(cluster, membership, clock);
  return {
    seed: opts.seed,
    nodes: opts.nodes,
    steps: opts.steps,
    profile: nemesis.profile,
    committedIndex: cluster.checker.committedIndex,
    acked: cluster.workload.acked.length,
    workload: cluster.workload.stats,
    faults: { ...nemesis.stats, ...cluster.stats, ...storm?.stats },
    membership: membership.stats,
    network: cluster.network.stats,
    sent: cluster.sent,
    recoverySteps,
  };
}

/** Ends the faults and checks liveness and durability of every acknowledged proposal. */
function heal(cluster: Cluster, membership: MembershipController, clock: SimClock): number {
  const startStep = clock.step;
  cluster.network.heal();
  cluster.network.faults = { ...CALM_NETWORK };
  cluster.persistCrashRate = 0;
  for (const n of cluster.nodes) cluster.start(n);
  cluster.trace?.('--- heal: faults end, every node restarts ---');
  const advance = (): void => {
    clock.step++;
    membership.act(false);
    cluster.runUntil(clock.step * STEP_MS);
  };
  const leader = awaitLeader(cluster, advance, clock);
  const commit = awaitCommit(cluster, leader, advance, clock);
  awaitCatchUp(cluster, membership, commit, advance, clock);
  checkAcknowledged(cluster, membership, clock);
  return clock.step - startStep;
}

function awaitLeader(cluster: Cluster, advance: () => void, clock: SimClock): SimNode {
  for (let i = 0; i < LEADER_DEADLINE_STEPS; i++) {
    const leader = cluster.leader();
    if (leader !== null) return leader;
    advance();
  }
  throw violation(clock, 'liveness', `no leader within ${LEADER_DEADLINE_STEPS} steps after healing`);
}

/** Proposes through the leader until a batch commits; returns the leader's commit index then. */
function awaitCommit(cluster: Cluster, first: SimNode, advance: () => void, clock: SimClock): number {
  let leader = first;
  let term = first.term;
  let ids = cluster.workload.propose(leader, LIVENESS_PROPOSALS);
  for (let i = 0; i < COMMIT_DEADLINE_STEPS; i++) {
    if (ids.length > 0 && ids.every((id) => cluster.workload.isAcked(id))) return leader.applied;
    advance();
    const now = cluster.leader();
    if (now !== null && (now !== leader || now.term !== term || ids.length === 0)) {
      leader = now;
      term = now.term;
      ids = cluster.workload.propose(leader, LIVENESS_PROPOSALS);
    }
  }
  throw violation(clock, 'liveness', `proposals after healing did not commit within ${COMMIT_DEADLINE_STEPS} steps`);
}

/** Live members of the latest committed configuration. */
function liveMembers(cluster: Cluster, membership: MembershipController): SimNode[] {
  const c = membership.committed;
  return cluster.nodes.filter((n) => n.alive && (c.voters.includes(n.id) || c.learners.includes(n.id)));
}

function awaitCatchUp(
  cluster: Cluster,
  membership: MembershipController,
  commit: number,
  advance: () => void,
  clock: SimClock,
): void {
  for (let i = 0; i < COMMIT_DEADLINE_STEPS; i++) {
    membership.poll();
    const behind = liveMembers(cluster, membership).filter((n) => n.applied < commit);
    if (behind.length === 0 && membership.pending === null) return;
    advance();
  }
  const behind = liveMembers(cluster, membership)
    .filter((n) => n.applied < commit)
    .map((n) => `${n.id}@${n.applied}`);
  throw violation(
    clock,
    'liveness',
    `members did not reach commit ${commit} within ${COMMIT_DEADLINE_STEPS} steps: ${behind.join(' ') || 'config change pending'}`,
  );
}

/** Every acknowledged proposal is in every live member's committed log. */
function checkAcknowledged(cluster: Cluster, membership: MembershipController, clock: SimClock): void {
  for (const node of liveMembers(cluster, membership)) {
    for (const p of cluster.workload.acked) {
      if (node.applied < p.index) {
        throw violation(clock, 'acknowledged durability', `${node.id} commit ${node.applied} is below acked p${p.id} at ${p.index}`);
      }
      const e = node.durableEntry(p.index);
      const term = e?.term ?? (p.index === node.storage.firstIndex() - 1 ? node.storage.snapshot().term : undefined);
      if (term === undefined && p.index >= node.storage.firstIndex()) {
        throw violation(clock, 'acknowledged durability', `${node.id} lacks acked p${p.id} at ${p.index}`);
      }
      if (term !== p.term && term !== undefined) {
        throw violation(clock, 'acknowledged durability', `${node.id} holds ${p.index}/${term}, acked p${p.id} was ${p.index}/${p.term}`);
      }
      if (e !== undefined && !bytesEqual(e.data, p.data)) {
        throw violation(clock, 'acknowledged durability', `${node.id} holds other data at ${p.index}, acked p${p.id}`);
      }
    }
  }
}
