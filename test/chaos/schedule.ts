/**
 * The nemesis schedule: one seeded PRNG picks each fault, its victims and how long it holds; the
 * fault is then healed and the cluster gets a short rest before the next one. One fault at a time,
 * so that every window in the history has one known cause. Bounded: it stops at its deadline and
 * after at most `stepsMax` faults.
 */
import type { Prng } from '../../src/util/prng.js';
import type { AgentProcesses } from './agent-processes.js';
import type { HistoryWriter } from './history.js';
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
  | 'pause-leader';

const needs: Record<FaultKind, NetFault | 'process'> = {
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
};

export interface ScheduleOptions {
  rng: Prng;
  net: TestNetwork;
  agents: AgentProcesses;
  history: HistoryWriter;
  /** The node the monitor's latest poll saw as the only leader (none: a random node is the target). */
  leader: () => string | undefined;
  deadline: number;
  holdMs: { min: number; max: number };
  restMs: { min: number; max: number };
  stepsMax?: number;
  log: (line: string) => void;
}

export function availableFaults(net: TestNetwork): FaultKind[] {
  return (Object.keys(needs) as FaultKind[]).filter((k) => needs[k] === 'process' || net.supports.has(needs[k]));
}

/** Runs faults until the deadline; resolves with the number of faults injected per kind. */
export async function runSchedule(o: ScheduleOptions): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const kinds = availableFaults(o.net);
  const stepsMax = o.stepsMax ?? 10_000;
  for (let step = 0; step < stepsMax && Date.now() < o.deadline; step++) {
    const kind = o.rng.pick(kinds);
    const detail = await inject(kind, o);
    counts[kind] = (counts[kind] ?? 0) + 1;
    o.history.write({ t: 'fault', kind, detail, time: Date.now() });
    o.log(`fault ${step + 1}: ${kind} ${detail}`);
    await sleep(between(o.rng, o.holdMs), o.deadline + o.holdMs.max);
    await heal(o);
    o.history.write({ t: 'heal', kind, detail, time: Date.now() });
    await sleep(between(o.rng, o.restMs), o.deadline);
  }
  return counts;
}

/** Every link restored, every node running and resumed. */
export async function heal(o: Pick<ScheduleOptions, 'net' | 'agents'>): Promise<void> {
  await o.net.healAll();
  await o.agents.heal();
}

async function inject(kind: FaultKind, o: ScheduleOptions): Promise<string> {
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

async function cutBoth(net: TestNetwork, a: string, b: string): Promise<void> {
  await net.cut(a, b);
  await net.cut(b, a);
}

function shuffled<T>(rng: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function between(rng: Prng, r: { min: number; max: number }): number {
  return r.min + rng.int(Math.max(1, r.max - r.min));
}

/** The schedule's own waiting: at most `ms`, never past `until`. */
function sleep(ms: number, until: number): Promise<void> {
  const wait = Math.max(0, Math.min(ms, until - Date.now()));
  return new Promise((resolve) => setTimeout(resolve, wait));
}
