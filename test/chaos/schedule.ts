/**
 * The nemesis schedule: one seeded PRNG picks each fault, its victims and how long it holds; the
 * fault is then healed and the cluster gets a short rest before the next one. One fault at a time,
 * so that every window in the history has one known cause. Bounded: it stops at its deadline and
 * after at most `stepsMax` faults. Kinds come from a seeded deck (fault-deck.ts): every available
 * kind once per round. Membership faults go through the admin API (membership-faults.ts).
 */
import type { Prng } from '../../src/util/prng.js';
import type { AgentProcesses } from './agent-processes.js';
import { FaultDeck, shuffled } from './fault-deck.js';
import type { HistoryWriter } from './history.js';
import type { FaultOutcome, MembershipNemesis } from './membership-faults.js';
import type { NetFault, TestNetwork } from './nemesis.js';

export type FaultKind =
  | 'partition'
  | 'isolate-leader'
  | 'bridge'
  | 'one-way'
  | 'loss'
  | 'delay'
  | 'reset'
  | 'kill'
  | 'kill-leader'
  | 'pause'
  | 'pause-leader'
  | 'transfer-leader'
  | 'remove-readd';

const needs: Record<FaultKind, NetFault | 'process' | 'admin'> = {
  partition: 'cut',
  'isolate-leader': 'isolate',
  bridge: 'cut',
  'one-way': 'cut',
  loss: 'loss',
  delay: 'delay',
  reset: 'reset',
  kill: 'process',
  'kill-leader': 'process',
  pause: 'process',
  'pause-leader': 'process',
  'transfer-leader': 'admin',
  'remove-readd': 'admin',
};

/** How long the heal of remove-readd waits for every node to be a voter again. */
export const membershipHealTimeoutMs = 60_000;

export interface ScheduleOptions {
  rng: Prng;
  net: Pick<TestNetwork, 'supports' | 'cut' | 'isolate' | 'loss' | 'delay' | 'reset' | 'healAll'>;
  agents: Pick<AgentProcesses, 'names' | 'kill' | 'pause' | 'heal'>;
  /** Membership faults (none: transfer-leader and remove-readd are not injected). */
  membership?: MembershipNemesis;
  history: Pick<HistoryWriter, 'write'>;
  /** The node the monitor's latest poll saw as the only leader (none: a random node is the target). */
  leader: () => string | undefined;
  deadline: number;
  holdMs: { min: number; max: number };
  restMs: { min: number; max: number };
  stepsMax?: number;
  /** Kinds dealt first, in a seeded order (the CI schedule makes sure of the membership faults). */
  first?: readonly FaultKind[];
  log: (line: string) => void;
}

export interface ScheduleResult {
  /** Faults injected per kind. */
  counts: Record<string, number>;
  /** Of those, the admin calls refused (the fault may not have happened), per kind. */
  refused: Record<string, number>;
}

/** The kinds a run can inject: what the network supports, processes, and admin calls if `admin`. */
export function availableFaults(net: Pick<TestNetwork, 'supports'>, admin: boolean): FaultKind[] {
  return (Object.keys(needs) as FaultKind[]).filter((k) => {
    const need = needs[k];
    return need === 'process' || (need === 'admin' ? admin : net.supports.has(need));
  });
}

/** Runs faults until the deadline; resolves with the number of faults injected per kind. */
export async function runSchedule(o: ScheduleOptions): Promise<ScheduleResult> {
  const result: ScheduleResult = { counts: {}, refused: {} };
  const deck = new FaultDeck(o.rng, availableFaults(o.net, o.membership !== undefined), o.first);
  const stepsMax = o.stepsMax ?? 10_000;
  for (let step = 0; step < stepsMax && Date.now() < o.deadline; step++) {
    const kind = deck.next();
    const { detail, refused } = await inject(kind, o);
    result.counts[kind] = (result.counts[kind] ?? 0) + 1;
    if (refused) result.refused[kind] = (result.refused[kind] ?? 0) + 1;
    o.history.write({ t: 'fault', kind, detail, time: Date.now() });
    o.log(`fault ${step + 1}: ${kind} ${detail}`);
    await sleep(between(o.rng, o.holdMs), o.deadline + o.holdMs.max);
    const healed = await heal(o);
    o.history.write({ t: 'heal', kind, detail: healed === '' ? detail : `${detail}; ${healed}`, time: Date.now() });
    if (healed !== '') o.log(`healed ${kind}: ${healed}`);
    await sleep(between(o.rng, o.restMs), o.deadline);
  }
  return result;
}

/**
 * Every link restored, every node running and resumed, and a node removed by remove-readd added
 * back and a voter again (throws after membershipHealTimeoutMs). Resolves with what the
 * membership heal did ('' when nothing).
 */
export async function heal(o: Pick<ScheduleOptions, 'net' | 'agents' | 'membership'>): Promise<string> {
  await o.net.healAll();
  await o.agents.heal();
  return (await o.membership?.heal(membershipHealTimeoutMs)) ?? '';
}

async function inject(kind: FaultKind, o: ScheduleOptions): Promise<FaultOutcome> {
  switch (kind) {
    case 'transfer-leader':
    case 'remove-readd': {
      const m = o.membership;
      if (!m) return { detail: 'no admin channel', refused: true };
      return kind === 'transfer-leader' ? m.transferLeader(o.rng, o.leader()) : m.removeFollower(o.rng, o.leader());
    }
    default:
      return { detail: await injectNemesis(kind, o), refused: false };
  }
}

async function injectNemesis(kind: Exclude<FaultKind, 'transfer-leader' | 'remove-readd'>, o: ScheduleOptions): Promise<string> {
  const names = o.agents.names;
  const leader = o.leader() ?? o.rng.pick(names);
  const victim = o.rng.pick(names);
  const others = (n: string): string[] => names.filter((x) => x !== n);
  switch (kind) {
    case 'partition': {
      const minority = shuffled(o.rng, names).slice(0, Math.floor((names.length - 1) / 2));
      const majority = names.filter((n) => !minority.includes(n));
      for (const a of minority) for (const b of majority) await cutBoth(o.net, a, b);
      return `${minority.join(',')} | ${majority.join(',')}`;
    }
    case 'isolate-leader':
      await o.net.isolate(leader);
      return leader;
    case 'bridge': {
      // The bridge node sees both halves; the halves do not see each other.
      const rest = shuffled(o.rng, others(victim));
      const half = Math.ceil(rest.length / 2);
      for (const a of rest.slice(0, half)) for (const b of rest.slice(half)) await cutBoth(o.net, a, b);
      return `${rest.slice(0, half).join(',')} <- ${victim} -> ${rest.slice(half).join(',')}`;
    }
    case 'one-way': {
      const to = o.rng.pick(others(leader));
      await o.net.cut(leader, to);
      return `${leader} -> ${to}`;
    }
    case 'loss': {
      const percent = 20 + o.rng.int(40);
      for (const b of others(victim)) {
        await o.net.loss(victim, b, percent);
        await o.net.loss(b, victim, percent);
      }
      return `${percent}% around ${victim}`;
    }
    case 'delay': {
      const ms = 20 + o.rng.int(200);
      for (const b of others(victim)) await o.net.delay(victim, b, ms);
      return `${ms} ms out of ${victim}`;
    }
    case 'reset':
      for (const b of others(victim)) {
        await o.net.reset(victim, b);
        await o.net.reset(b, victim);
      }
      return victim;
    case 'kill':
    case 'kill-leader': {
      const target = kind === 'kill' ? victim : leader;
      await o.agents.kill(target);
      return target;
    }
    case 'pause':
    case 'pause-leader': {
      const target = kind === 'pause' ? victim : leader;
      o.agents.pause(target);
      return target;
    }
  }
}

async function cutBoth(net: ScheduleOptions['net'], a: string, b: string): Promise<void> {
  await net.cut(a, b);
  await net.cut(b, a);
}

function between(rng: Prng, r: { min: number; max: number }): number {
  return r.min + rng.int(Math.max(1, r.max - r.min));
}

/** The schedule's own waiting: at most `ms`, never past `until`. */
function sleep(ms: number, until: number): Promise<void> {
  const wait = Math.max(0, Math.min(ms, until - Date.now()));
  return new Promise((resolve) => setTimeout(resolve, wait));
}
