import { describe, expect, it } from 'vitest';
import { nodesForSeed, runSimulation, type SimResult } from './simulator.js';

/** Seeds per `it` block (so vitest reports progress) and blocks: 2,400 seeds in all. */
const SEEDS_PER_BLOCK = 300;
const BLOCKS = 8;
const STEPS = 300;

function runSeed(seed: number): SimResult {
  try {
    return runSimulation({ seed, nodes: nodesForSeed(seed), steps: STEPS });
  } catch (err) {
    const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
    throw new Error(`seed=${seed} failed; replay: npm run sim -- --seed ${seed} --trace\n${msg}`, { cause: err });
  }
}

const totals: Record<string, number> = {};
function add(key: string, n: number): void {
  totals[key] = (totals[key] ?? 0) + n;
}

describe('seeded Raft simulation (3 and 5 voters, faults, election storms, membership churn)', () => {
  for (let b = 0; b < BLOCKS; b++) {
    const first = 1 + b * SEEDS_PER_BLOCK;
    const last = first + SEEDS_PER_BLOCK - 1;
    it(`seeds ${first}..${last} keep every safety and liveness property`, () => {
      for (let seed = first; seed <= last; seed++) {
        const r = runSeed(seed);
        add('acked', r.acked);
        add('crashes', r.faults.crashes ?? 0);
        add('wipes', r.faults.wipes ?? 0);
        add('partitions', r.faults.partitions ?? 0);
        add('transfers', r.faults.transfers ?? 0);
        add('compactions', r.faults.compactions ?? 0);
        add('configChanges', r.membership.committed ?? 0);
        add('lost', r.network.lost ?? 0);
        add('duplicated', r.network.duplicated ?? 0);
        add('snapshots', r.sent.InstallSnapshot ?? 0);
        add('timeoutNow', r.sent.TimeoutNow ?? 0);
        add('fiveNodeRuns', r.nodes === 5 ? 1 : 0);
        add('stormRuns', r.profile.storm === null ? 0 : 1);
        add('newLeaderCuts', r.faults.newLeaderCuts ?? 0);
      }
    });
  }

  it('exercised every kind of fault and operation across the seeds', () => {
    for (const key of [
      'acked',
      'crashes',
      'wipes',
      'partitions',
      'transfers',
      'compactions',
      'configChanges',
      'lost',
      'duplicated',
      'snapshots',
      'timeoutNow',
      'fiveNodeRuns',
      'stormRuns',
      'newLeaderCuts',
    ]) {
      expect(totals[key], key).toBeGreaterThan(0);
    }
  });
});
