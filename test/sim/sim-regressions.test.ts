import { describe, expect, it } from 'vitest';
import { ReplogError } from '../../src/errors.js';
import type { ConfigChange } from '../../src/raft/core/types.js';
import { Prng } from '../../src/util/prng.js';
import { Cluster } from './cluster.js';
import type { SimNode } from './sim-node.js';
import { clusterOptions, STEP_MS } from './simulator.js';
import type { SimClock } from './violation.js';

/**
 * Schedules that found real problems, kept as regression tests. A case marked `it.fails`
 * documents a known, not yet fixed problem: it starts failing (and must become a plain `it`)
 * once fixed.
 */

const SEED = 289;
const MAX_STEPS = 300;

function newCluster(): { cluster: Cluster; run: (steps: number) => void; clock: SimClock } {
  const clock: SimClock = { seed: SEED, step: 0, nowMs: 0 };
  const prng = new Prng(SEED);
  const cluster = new Cluster(clock, prng.fork(), clusterOptions(3, 'none', prng.fork()), null);
  const run = (steps: number): void => {
    for (let i = 0; i < steps; i++) {
      clock.step++;
      cluster.runUntil(clock.step * STEP_MS);
    }
  };
  cluster.startAll();
  return { cluster, run, clock };
}

function awaitLeader(cluster: Cluster, run: (steps: number) => void): SimNode | null {
  for (let i = 0; i < MAX_STEPS; i++) {
    const leader = cluster.leader();
    if (leader !== null) return leader;
    run(1);
  }
  return null;
}

/** Proposes `change` on the leader until accepted, then waits for it to commit. */
function changeConfig(cluster: Cluster, run: (steps: number) => void, change: ConfigChange): void {
  for (let i = 0; i < MAX_STEPS; i++) {
    const leader = awaitLeader(cluster, run);
    try {
      const at = leader!.core!.proposeConfigChange(change);
      leader!.afterInput();
      for (let j = 0; j < MAX_STEPS && cluster.checker.committedTerm(at.index) === undefined; j++) run(1);
      if (cluster.checker.committedTerm(at.index) === at.term) return;
    } catch (err) {
      if (!(err instanceof ReplogError)) throw err;
      run(1);
    }
  }
  throw new Error(`change ${change.type} ${change.id} did not commit`);
}

/**
 * Four voters; the leader appends "remove me" and is cut off before anyone else receives it;
 * then (optionally) a second voter loses its disk. Returns whether a leader appears after healing.
 */
function removeLeaderThenLoseVoter(wipe: boolean): boolean {
  const { cluster, run } = newCluster();
  const spare = cluster.nodes[3]!;
  changeConfig(cluster, run, { type: 'addLearner', id: spare.id });
  changeConfig(cluster, run, { type: 'promote', id: spare.id });
  let leader: SimNode | null = null;
  for (let i = 0; i < MAX_STEPS && leader === null; i++) {
    const l = awaitLeader(cluster, run)!;
    try {
      l.core!.proposeConfigChange({ type: 'remove', id: l.id });
      leader = l;
    } catch (err) {
      if (!(err instanceof ReplogError)) throw err;
      run(1);
    }
  }
  const names = cluster.nodes.map((n) => n.name);
  cluster.network.partition([leader!.name], names.filter((n) => n !== leader!.name));
  leader!.afterInput();
  if (wipe) cluster.wipe(cluster.nodes.find((n) => n !== leader && n !== spare)!);
  run(50);
  cluster.network.heal();
  run(1);
  return awaitLeader(cluster, run) !== null;
}

describe(`simulator regressions (seed ${SEED})`, () => {
  it('a leader that appended its own removal and was cut off is replaced once the network heals', () => {
    expect(removeLeaderThenLoseVoter(false)).toBe(true);
  });

  // Liveness gap in the core, reported to its owner (first found by the seeded simulator):
  // leader L of {L, A, B, X} appends "remove L", is cut off before it commits, and X's disk is
  // lost. Only L holds the new entry, so L refuses its vote to A and B (their logs are behind).
  // A and B are 2 of the 4 voters they know, so only L can end this: a voter whose removal is
  // appended but not committed may still campaign (raft-state.ts promotable(); ARCHITECTURE 3a
  // rule 11 as amended), wins with A and B, commits its removal and steps down.
  it('...and also when another voter is lost meanwhile (1 of 4 voters lost)', () => {
    expect(removeLeaderThenLoseVoter(true)).toBe(true);
  });
});
