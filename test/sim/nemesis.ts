import { ReplogError } from '../../src/errors.js';
import type { Prng } from '../../src/util/prng.js';
import type { Cluster } from './cluster.js';
import type { MembershipController } from './membership.js';
import type { NetworkFaults } from './network.js';
import { rollStorm, type Storm, type StormProfile } from './storm.js';

/** Share of seeds that also run an election storm (storm.ts). */
export const STORM_SEED_SHARE = 0.5;

/**
 * How hard one seed is hit, per simulated step (swarm testing: every seed draws its own mix, so
 * some runs are calm and others lose a third of their messages while nodes crash).
 */
export interface FaultProfile {
  crashRate: number;
  /** A crash followed by a restart within rebootMaxSteps (the window where unpersisted state matters). */
  rebootRate: number;
  rebootMaxSteps: number;
  /** See Cluster.persistCrashRate. */
  persistCrashRate: number;
  restartRate: number;
  partitionRate: number;
  healRate: number;
  networkChangeRate: number;
  transferRate: number;
  compactRate: number;
  wipeRate: number;
  membershipRate: number;
  /** Whether the operator also removes live voters (the leader included). */
  churn: boolean;
  proposeRate: number;
  /** The election storm this seed also runs, if any. */
  storm: StormProfile | null;
}

export function rollProfile(prng: Prng): FaultProfile {
  const maybe = (p: number, rate: number): number => (prng.chance(p) ? rate : 0);
  return {
    crashRate: maybe(0.7, prng.pick([0.005, 0.02, 0.05])),
    rebootRate: maybe(0.7, prng.pick([0.02, 0.05, 0.15])),
    rebootMaxSteps: prng.pick([0, 1, 3]),
    persistCrashRate: maybe(0.5, prng.pick([0.002, 0.01, 0.03])),
    restartRate: prng.pick([0.05, 0.1, 0.3]),
    partitionRate: maybe(0.6, prng.pick([0.01, 0.03, 0.08])),
    healRate: prng.pick([0.02, 0.05, 0.15]),
    networkChangeRate: maybe(0.7, prng.pick([0.01, 0.05])),
    transferRate: maybe(0.5, prng.pick([0.01, 0.03])),
    compactRate: maybe(0.6, prng.pick([0.02, 0.1])),
    wipeRate: maybe(0.3, prng.pick([0.003, 0.01])),
    membershipRate: maybe(0.6, prng.pick([0.05, 0.2])),
    churn: prng.chance(0.4),
    proposeRate: prng.pick([0.2, 0.5, 0.9]),
    // Drawn last, so that the other fields stay what they were before storms existed.
    storm: prng.chance(STORM_SEED_SHARE) ? rollStorm(prng) : null,
  };
}

function rollNetwork(prng: Prng): NetworkFaults {
  const maxDelayMs = prng.pick([3, 10, 30]);
  return {
    lossRate: prng.pick([0, 0.01, 0.05, 0.2, 0.4]),
    dupRate: prng.pick([0, 0.02, 0.1]),
    minDelayMs: prng.int(2),
    maxDelayMs,
    spikeRate: prng.pick([0, 0.01, 0.05]),
    spikeDelayMs: prng.pick([50, 150, 300]),
  };
}

export interface NemesisOptions {
  /** Also wipe a member while a membership change is pending (on by default). */
  wipeDuringConfigChange: boolean;
  /** The election storm of a storm seed (built from profile.storm), acting first each step. */
  storm: Storm | null;
}

/** Injects faults and operator actions into a running cluster, one decision per step. */
export class Nemesis {
  /** Nodes to restart, with the step at which they come back. */
  private readonly reboots = new Map<string, number>();
  readonly stats = { crashes: 0, reboots: 0, restarts: 0, partitions: 0, heals: 0, transfers: 0, compactions: 0, wipes: 0 };

  constructor(
    private readonly cluster: Cluster,
    private readonly membership: MembershipController,
    private readonly prng: Prng,
    readonly profile: FaultProfile,
    private readonly options: NemesisOptions,
  ) {}

  act(step: number): void {
    const p = this.profile;
    const r = this.prng;
    this.finishReboots(step);
    this.options.storm?.act(step);
    if (r.chance(p.crashRate)) this.crashOne();
    if (r.chance(p.rebootRate)) this.reboot(step);
    if (r.chance(p.restartRate)) this.restartOne();
    if (r.chance(p.partitionRate)) this.partition();
    if (r.chance(p.healRate) && this.cluster.network.cutLinks > 0) this.heal();
    if (r.chance(p.networkChangeRate)) this.changeNetwork();
    if (r.chance(p.transferRate)) this.transfer();
    if (r.chance(p.compactRate)) this.compact();
    if (r.chance(p.wipeRate)) this.wipe();
    if (r.chance(p.membershipRate)) this.membership.act(p.churn);
    else this.membership.poll();
    if (r.chance(p.proposeRate)) this.propose();
  }

  private crashOne(): void {
    const alive = this.cluster.nodes.filter((n) => n.alive);
    if (alive.length === 0) return;
    this.cluster.crash(this.prng.pick(alive));
    this.stats.crashes++;
  }

  /** Crashes a node (the leader half of the time) and brings it back a few steps later. */
  private reboot(step: number): void {
    const leader = this.cluster.leader();
    const alive = this.cluster.nodes.filter((n) => n.alive);
    if (alive.length === 0) return;
    const node = leader !== null && this.prng.chance(0.5) ? leader : this.prng.pick(alive);
    this.cluster.crash(node);
    this.reboots.set(node.name, step + this.prng.int(this.profile.rebootMaxSteps + 1));
    this.stats.reboots++;
  }

  private finishReboots(step: number): void {
    for (const [name, due] of this.reboots) {
      if (due > step) continue;
      this.reboots.delete(name);
      const node = this.cluster.nodes.find((n) => n.name === name);
      if (node !== undefined) this.cluster.start(node);
    }
  }

  private restartOne(): void {
    const down = this.cluster.nodes.filter((n) => !n.alive);
    if (down.length === 0) return;
    this.cluster.start(this.prng.pick(down));
    this.stats.restarts++;
  }

  private partition(): void {
    const names = this.cluster.nodes.map((n) => n.name);
    const net = this.cluster.network;
    const r = this.prng;
    const kind = r.int(3);
    if (kind === 0) {
      // Isolate one node (often the leader) in both directions.
      const leader = this.cluster.leader();
      const victim = leader !== null && r.chance(0.5) ? leader.name : r.pick(names);
      net.partition([victim], names.filter((n) => n !== victim));
      this.cluster.trace?.(`partition isolate ${victim}`);
    } else if (kind === 1) {
      const side = names.filter(() => r.chance(0.5));
      net.partition(side, names.filter((n) => !side.includes(n)));
      this.cluster.trace?.(`partition [${side.join(',')}] | rest`);
    } else {
      const from = r.pick(names);
      const to = r.pick(names);
      net.cutLink(from, to);
      this.cluster.trace?.(`partition one-way ${from} -> ${to}`);
    }
    this.stats.partitions++;
  }

  private heal(): void {
    this.cluster.network.heal();
    this.cluster.trace?.('heal partitions');
    this.stats.heals++;
  }

  private changeNetwork(): void {
    const f = rollNetwork(this.prng);
    this.cluster.network.faults = f;
    this.cluster.trace?.(
      `network loss=${f.lossRate} dup=${f.dupRate} delay=${f.minDelayMs}..${f.maxDelayMs}ms spike=${f.spikeRate}`,
    );
  }

  private transfer(): void {
    const leader = this.cluster.leader();
    const core = leader?.core;
    if (leader === null || core === undefined || core === null) return;
    const targets = core.status().config.voters.filter((id) => id !== leader.id);
    if (targets.length === 0) return;
    const to = this.prng.pick(targets);
    try {
      core.transferLeadership(to);
      this.stats.transfers++;
      this.cluster.trace?.(`${leader.id} transfer leadership to ${to}`);
    } catch (err) {
      if (!(err instanceof ReplogError)) throw err;
      this.cluster.trace?.(`${leader.id} transfer to ${to} refused: ${err.message}`);
    }
    leader.afterInput();
  }

  /** Log compaction below the durable commit, so lagging followers need InstallSnapshot. */
  private compact(): void {
    const candidates = this.cluster.nodes.filter((n) => n.alive && !n.persisting);
    if (candidates.length === 0) return;
    const node = this.prng.pick(candidates);
    const s = node.storage;
    const commit = Math.min(s.hardState().commit, node.applied);
    if (commit < s.firstIndex()) return;
    const index = s.firstIndex() + this.prng.int(commit - s.firstIndex() + 1);
    s.compact(index);
    this.stats.compactions++;
    this.cluster.trace?.(`${node.id} compact to ${index}`);
  }

  private wipe(): void {
    if (!this.membership.canLoseMember(this.options.wipeDuringConfigChange)) return;
    const c = this.membership.committed;
    const members = this.cluster.nodes.filter((n) => c.voters.includes(n.id) || c.learners.includes(n.id));
    if (members.length === 0) return;
    this.cluster.wipe(this.prng.pick(members));
    this.stats.wipes++;
  }

  private propose(): void {
    const leader = this.cluster.leader();
    const alive = this.cluster.nodes.filter((n) => n.alive);
    if (alive.length === 0) return;
    // Mostly the leader; sometimes any node (a follower must refuse, naming the leader).
    const target = leader !== null && this.prng.chance(0.9) ? leader : this.prng.pick(alive);
    this.cluster.workload.propose(target, 1 + this.prng.int(4));
  }
}
