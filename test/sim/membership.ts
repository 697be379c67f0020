import { ReplogError } from '../../src/errors.js';
import type { ClusterConfig, ConfigChange, NodeId } from '../../src/raft/core/types.js';
import type { Prng } from '../../src/util/prng.js';
import type { Cluster } from './cluster.js';
import type { SimNode } from './sim-node.js';

interface PendingChange {
  change: ConfigChange;
  index: number;
  term: number;
  next: ClusterConfig;
}

function applyChange(c: ClusterConfig, change: ConfigChange): ClusterConfig {
  const voters = c.voters.filter((id) => id !== change.id);
  const learners = c.learners.filter((id) => id !== change.id);
  if (change.type === 'addLearner') learners.push(change.id);
  if (change.type === 'promote') voters.push(change.id);
  return { voters: voters.sort(), learners: learners.sort() };
}

function describe(change: ConfigChange): string {
  return `${change.type} ${change.id}`;
}

/**
 * The operator of the simulated cluster: one membership change at a time through the leader.
 * It replaces lost identities (remove the dead one, add the new one as a learner, promote it),
 * and, when churn is on, removes live voters (the leader too) so the removed node's slot comes
 * back as a new identity. It never lets dead identities and removals together cost the quorum:
 * removals of live voters wait until no dead identity is a member.
 */
export class MembershipController {
  /** The latest configuration known committed. */
  committed: ClusterConfig;
  pending: PendingChange | null = null;
  readonly stats = { proposed: 0, committed: 0, lost: 0, refused: 0 };

  constructor(
    private readonly cluster: Cluster,
    private readonly prng: Prng,
    private readonly targetVoters: number,
    private readonly promoteLagEntriesMax: number,
  ) {
    this.committed = cluster.bootstrapConfig;
  }

  /** Both configurations that may be in force somewhere (committed and pending). */
  configsInPlay(): ClusterConfig[] {
    return this.pending === null ? [this.committed] : [this.committed, this.pending.next];
  }

  /**
   * Whether losing one more member identity still leaves a live quorum possible. Not while a
   * change is pending unless `duringChange`: a voter removed by an uncommitted entry may then be
   * the only node able to win an election, and a core whose non-members never campaign
   * (ARCHITECTURE 3a rule 11) stays leaderless for good (seed 289; see sim-regressions.test.ts).
   */
  canLoseMember(duringChange: boolean): boolean {
    if (!duringChange && this.pending !== null) return false;
    return this.configsInPlay().every(
      (c) => c.voters.length >= 3 && ![...c.voters, ...c.learners].some((id) => this.cluster.deadIds.has(id)),
    );
  }

  /** Resolves the pending change once its index is committed somewhere. */
  poll(): void {
    const p = this.pending;
    if (p === null) return;
    const term = this.committedTerm(p.index);
    if (term === undefined && !this.superseded(p)) return;
    this.pending = null;
    if (term !== p.term) {
      this.stats.lost++;
      this.cluster.trace?.(`config ${describe(p.change)} at ${p.index}/${p.term} lost`);
      return;
    }
    this.stats.committed++;
    this.committed = p.next;
    this.cluster.trace?.(`config ${describe(p.change)} committed at ${p.index}: voters=${p.next.voters.join(',')}`);
    if (p.change.type === 'remove') this.decommission(p.change.id);
  }

  /** The committed term at `index`, from the checker or from any node that committed it. */
  private committedTerm(index: number): number | undefined {
    const known = this.cluster.checker.committedTerm(index);
    if (known !== undefined) return known;
    for (const n of this.cluster.nodes) {
      if (n.alive && n.applied >= index) {
        const e = n.durableEntry(index);
        if (e !== undefined) return e.term;
      }
    }
    return undefined;
  }

  /**
   * The change can never commit: the committed log ends before its index with a later term, and
   * terms never decrease along a log (a leader that never got it is appending after that point).
   */
  private superseded(p: PendingChange): boolean {
    const checker = this.cluster.checker;
    const last = checker.committedIndex;
    return last < p.index && (checker.committedTerm(last) ?? 0) > p.term;
  }

  /** Proposes the next change, if any is due; `churn` allows removing live voters. */
  act(churn: boolean): void {
    this.poll();
    if (this.pending !== null) return;
    const leader = this.cluster.leader();
    if (leader === null) return;
    const change = this.nextChange(leader, churn);
    if (change !== null) this.propose(leader, change);
  }

  private nextChange(leader: SimNode, churn: boolean): ConfigChange | null {
    const c = this.committed;
    const dead = this.cluster.deadIds;
    const deadMember = [...c.voters, ...c.learners].find((id) => dead.has(id));
    if (deadMember !== undefined) return { type: 'remove', id: deadMember };
    const learner = c.learners.find((id) => this.caughtUp(leader, this.cluster.nodeFor(id)));
    if (learner !== undefined) return { type: 'promote', id: learner };
    const spare = this.cluster.nodes.find((n) => n.alive && !c.voters.includes(n.id) && !c.learners.includes(n.id));
    if (spare !== undefined && c.voters.length < this.targetVoters + 1) return { type: 'addLearner', id: spare.id };
    if (churn && c.voters.length >= this.targetVoters) return { type: 'remove', id: this.prng.pick(c.voters) };
    return null;
  }

  /** The driver's promotion policy: a learner within promoteLagEntriesMax of the leader. */
  private caughtUp(leader: SimNode, learner: SimNode | undefined): boolean {
    return learner !== undefined && learner.alive && leader.applied - learner.applied <= this.promoteLagEntriesMax;
  }

  private propose(leader: SimNode, change: ConfigChange): void {
    const core = leader.core;
    if (core === null) return;
    try {
      const at = core.proposeConfigChange(change);
      this.pending = { change, index: at.index, term: at.term, next: applyChange(this.committed, change) };
      this.stats.proposed++;
      this.cluster.trace?.(`${leader.id} config ${describe(change)} proposed at ${at.index}/${at.term}`);
    } catch (err) {
      if (!(err instanceof ReplogError)) throw err;
      this.stats.refused++;
      this.cluster.trace?.(`${leader.id} config ${describe(change)} refused: ${err.message}`);
    }
    leader.afterInput();
  }

  /** A removed member's machine is retired; its slot returns as a new, empty identity. */
  private decommission(id: NodeId): void {
    const node = this.cluster.nodeFor(id);
    if (node !== undefined) this.cluster.wipe(node);
  }
}
