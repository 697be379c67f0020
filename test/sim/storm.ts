import type { Prng } from '../../src/util/prng.js';
import type { Cluster } from './cluster.js';
import type { SimNode } from './sim-node.js';

/**
 * How an election storm hits one seed. The dangerous Raft schedules (figure 8 of the paper, lost
 * votes) need many short terms whose leaders each reach only a minority: a leader appends a run
 * of entries that only it and maybe one follower get, loses leadership, a newer leader appends
 * its own entries and is cut off before they spread, and an older log wins again and replicates
 * its old entries to a majority in several messages.
 */
export interface StormProfile {
  /** Per step: cut the leader off with at most one follower (a minority), for a few steps. */
  flapRate: number;
  /** Probability that a newly elected leader is cut off at once, before its noop spreads. */
  cutNewLeaderRate: number;
  /** Per step: propose a burst to the leader and crash it at once (its messages are in flight). */
  burstCrashRate: number;
  /** A cut lasts 1..cutMaxSteps steps. */
  cutMaxSteps: number;
  /** A crashed leader restarts after 0..downMaxSteps steps. */
  downMaxSteps: number;
  /** Per step: force 2 followers to campaign at the same moment (split votes, same-term candidates). */
  duelRate: number;
}

export function rollStorm(prng: Prng): StormProfile {
  return {
    flapRate: prng.pick([0.03, 0.08, 0.15]),
    cutNewLeaderRate: prng.pick([0.2, 0.5, 0.8]),
    burstCrashRate: prng.pick([0, 0.01, 0.03]),
    cutMaxSteps: prng.pick([5, 15, 30]),
    downMaxSteps: prng.pick([2, 10, 25]),
    duelRate: prng.pick([0, 0.02, 0.05]),
  };
}

/** Injects an election storm; driven by the Nemesis once per step on storm seeds. */
export class Storm {
  readonly stats = { flaps: 0, newLeaderCuts: 0, burstCrashes: 0, duels: 0 };
  /** Step at which the current cut heals (0 when none is active). */
  private healAt = 0;
  private readonly restarts = new Map<string, number>();
  private lastLeader = '';

  constructor(
    private readonly cluster: Cluster,
    private readonly prng: Prng,
    readonly profile: StormProfile,
  ) {}

  act(step: number): void {
    const p = this.profile;
    const r = this.prng;
    this.finish(step);
    const leader = this.cluster.leader();
    const key = leader === null ? '' : `${leader.id}@${leader.term}`;
    if (leader !== null && key !== this.lastLeader && r.chance(p.cutNewLeaderRate)) {
      this.cut(leader, step);
      this.stats.newLeaderCuts++;
    } else if (leader !== null && this.healAt === 0 && r.chance(p.flapRate)) {
      this.cut(leader, step);
      this.stats.flaps++;
    }
    this.lastLeader = key;
    if (leader !== null && r.chance(p.burstCrashRate)) this.burstCrash(leader, step);
    if (r.chance(p.duelRate)) this.duel();
  }

  /** Isolates `leader`, with one follower half of the time when that stays a minority. */
  private cut(leader: SimNode, step: number): void {
    const names = this.cluster.nodes.map((n) => n.name);
    const voters = leader.core?.status().config.voters.length ?? 0;
    const side = [leader.name];
    const others = this.cluster.nodes.filter((n) => n !== leader && n.alive).map((n) => n.name);
    if (voters >= 5 && others.length > 0 && this.prng.chance(0.5)) side.push(this.prng.pick(others));
    this.cluster.network.partition(side, names.filter((n) => !side.includes(n)));
    this.healAt = step + 1 + this.prng.int(this.profile.cutMaxSteps);
    this.cluster.trace?.(`storm: cut [${side.join(',')}] | rest until step ${this.healAt}`);
  }

  /** A burst of proposals, then the leader crashes with its AppendEntries still on the wire. */
  private burstCrash(leader: SimNode, step: number): void {
    this.cluster.workload.propose(leader, 1 + this.prng.int(8));
    this.cluster.crash(leader);
    this.restarts.set(leader.name, step + this.prng.int(this.profile.downMaxSteps + 1));
    this.stats.burstCrashes++;
    this.cluster.trace?.(`storm: ${leader.id} crashed right after a burst`);
  }

  /** Two followers campaign at once: candidates of the same term split the votes. */
  private duel(): void {
    const followers = this.cluster.nodes.filter((n) => n.alive && n.role !== 'leader' && n.core !== null);
    if (followers.length < 2) return;
    const a = this.prng.pick(followers);
    const b = this.prng.pick(followers.filter((n) => n !== a));
    for (const n of [a, b]) {
      n.core?.campaign();
      n.afterInput();
    }
    this.stats.duels++;
    this.cluster.trace?.(`storm: ${a.id} and ${b.id} campaign together`);
  }

  private finish(step: number): void {
    if (this.healAt !== 0 && step >= this.healAt) {
      this.cluster.network.heal();
      this.healAt = 0;
      this.cluster.trace?.('storm: heal');
    }
    for (const [name, due] of this.restarts) {
      if (due > step) continue;
      this.restarts.delete(name);
      const node = this.cluster.nodes.find((n) => n.name === name);
      if (node !== undefined) this.cluster.start(node);
    }
  }
}
