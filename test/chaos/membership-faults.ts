/**
 * Membership faults, applied through the admin API from inside the test network (admin-ctl.ts):
 *
 * - transfer-leader: TransferLeadership to a random other voter. A refusal (no leader, the target
 *   behind) is recorded, never a failure of the run.
 * - remove-readd: RemoveNode of a random follower; at heal, AddLearner of the same identity (full
 *   id and address) and a wait, with a deadline, until the leader sees every node as a voter
 *   again (the reconciler promotes the learner once it caught up).
 *
 * The node names map to their Raft ids (`n2/uuid`), learnt from the leader's view at the start.
 */
import type { Prng } from '../../src/util/prng.js';
import type { AdminChannel, Member, MembersView } from './admin-channel.js';

export interface FaultOutcome {
  detail: string;
  /** The admin call was refused or timed out (the fault may not have happened). */
  refused: boolean;
}

/** A transfer waits up to two election timeouts, a change for a pending one (10 s on the node). */
const requestTimeoutMs = 20_000;
const pollMs = 500;
/** The ctl asks every node for its status within 1 s. */
const membersTimeoutMs = 5000;

export class MembershipNemesis {
  private readonly known = new Map<string, Member>();
  private readdPending = false;

  constructor(
    private readonly admin: Pick<AdminChannel, 'request'>,
    private readonly names: readonly string[],
    /** The address a node advertises, for add-learner when its own is not known yet. */
    private readonly rpcAddr: (name: string) => string,
  ) {}

  /** Whether a removed node still waits for its re-add (the heal step does it). */
  get pending(): boolean {
    return this.readdPending;
  }

  async transferLeader(rng: Prng, leader: string | undefined): Promise<FaultOutcome> {
    const to = rng.pick(this.names.filter((n) => n !== leader));
    const out = await this.admin.request({ op: 'transfer', to: this.idOf(to) }, requestTimeoutMs);
    const result = out.ok ? `leader now ${nameOf(String(out.result))}` : `refused (${out.error})`;
    return { detail: `${leader ?? '?'} -> ${to}: ${result}`, refused: !out.ok };
  }

  async removeFollower(rng: Prng, leader: string | undefined): Promise<FaultOutcome> {
    const victim = rng.pick(this.names.filter((n) => n !== leader));
    const id = this.idOf(victim);
    // Even a refused removal may have been applied (its outcome unknown): the heal step checks.
    this.readdPending = true;
    const out = await this.admin.request({ op: 'remove', node: id }, requestTimeoutMs);
    return { detail: `${id}: ${out.ok ? 'removed' : `refused (${out.error})`}`, refused: !out.ok };
  }

  /** The heal of remove-readd (nothing to do without one pending). */
  async heal(timeoutMs: number): Promise<string> {
    if (!this.readdPending) return '';
    const started = Date.now();
    await this.allVoters(timeoutMs);
    this.readdPending = false;
    return `every node a voter again after ${Date.now() - started} ms`;
  }

  /**
   * Waits until the leader sees every node as a voter, adding back (AddLearner, same id and
   * address) any node missing from the configuration; throws after `timeoutMs`.
   */
  async allVoters(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: string;
    for (;;) {
      const out = await this.admin.request({ op: 'members' }, membersTimeoutMs);
      if (out.ok) {
        const view = out.result as MembersView;
        const led = view.leaderId !== '' && view.answeredBy === view.leaderId;
        if (led) for (const m of view.members) this.known.set(m.name, m);
        const missing = this.names.filter((n) => !view.members.some((m) => m.name === n));
        const learners = view.members.filter((m) => !m.voter).map((m) => m.name);
        if (led && missing.length === 0 && learners.length === 0) return;
        last = `${led ? 'leader' : 'no leader;'} ${view.answeredBy}: missing [${missing.join(', ')}], learners [${learners.join(', ')}]`;
        if (led) for (const n of missing) await this.readd(n);
      } else {
        last = out.error;
      }
      if (Date.now() >= deadline) throw new Error(`the cluster did not get every node back as a voter within ${timeoutMs} ms: ${last}`);
      await delay(Math.min(pollMs, Math.max(0, deadline - Date.now())));
    }
  }

  private async readd(name: string): Promise<void> {
    const m = this.known.get(name);
    const rpcAddr = m?.rpcAddr !== undefined && m.rpcAddr !== '' ? m.rpcAddr : this.rpcAddr(name);
    // A refusal is retried at the next poll, until the deadline.
    await this.admin.request({ op: 'add-learner', node: m?.id ?? name, rpcAddr }, requestTimeoutMs);
  }

  /** The full Raft id when known (the node's name otherwise: the server resolves it). */
  private idOf(name: string): string {
    return this.known.get(name)?.id ?? name;
  }
}

function nameOf(id: string): string {
  return id.split('/')[0] ?? id;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
