import { describe, expect, it } from 'vitest';
import type { DriverBug } from './sim-node.js';
import { nodesForSeed, runSimulation } from './simulator.js';
import { SimViolation } from './violation.js';

function traceOf(seed: number, steps: number): string[] {
  const lines: string[] = [];
  runSimulation({ seed, nodes: nodesForSeed(seed), steps, trace: (l) => lines.push(l) });
  return lines;
}

/** The first seed in [1, maxSeeds] on which the checkers catch `bug`, or null. */
function firstCatch(bug: DriverBug, maxSeeds: number): { seed: number; violation: SimViolation } | null {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    try {
      runSimulation({ seed, nodes: nodesForSeed(seed), steps: 300, driverBug: bug });
    } catch (err) {
      if (err instanceof SimViolation) return { seed, violation: err };
      throw err;
    }
  }
  return null;
}

describe('simulator', () => {
  it('is deterministic: a seed replays to the same trace; another seed differs', () => {
    const a = traceOf(12, 120);
    expect(a.length).toBeGreaterThan(500);
    expect(traceOf(12, 120)).toEqual(a);
    expect(traceOf(13, 120)).not.toEqual(a);
  });

  it('traces every kind of event, one per line', () => {
    const text = [1, 2, 3, 4, 7].flatMap((s) => traceOf(s, 300)).join('\n');
    for (const kind of [
      / tick$/m,
      / send AppendEntries /,
      / deliver RequestVote /,
      / drop /,
      / persisted job \d+: /,
      / crash$/m,
      / start term=/,
      / partition /,
      / propose p\d+/,
      / ack p\d+ at /,
      / role follower@\d+ -> precandidate@/,
      / compact to /,
      / config (addLearner|promote|remove) \S+ committed/,
    ]) {
      expect(text, String(kind)).toMatch(kind);
    }
  });

  it('catches a driver that forgets its vote across a crash (a second vote in one term, or two leaders)', () => {
    const found = firstCatch('forget-vote', 300);
    expect(found, 'forget-vote not caught in 300 seeds').not.toBeNull();
    expect(['vote safety', 'election safety']).toContain(found!.violation.rule);
  });

  it('catches a driver that sends votes and acks before persisting them', () => {
    const found = firstCatch('send-before-persist', 300);
    expect(found, 'send-before-persist not caught in 300 seeds').not.toBeNull();
  });
});
