/**
 * The short chaos schedule CI runs: 3 real agent processes, 3 client workers, ~20 s of seeded
 * faults (partitions, isolated leader, bridge, one-way, loss where nftables exists, kill -9,
 * SIGSTOP of the leader, ...), always opening with the membership faults (remove-readd and
 * transfer-leader through the admin API, in a seeded order), then the history checker on every
 * node's log. The network-
 * namespace variant needs root; the proxy variant runs everywhere (as root too, to keep it
 * working). Both in one file so that they never run at the same time on 2 cores.
 * SEED=N picks the schedule; a failure prints the seed and the history files. `make chaos` runs long.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { printReport } from './report.js';
import { netnsUnavailableReason } from './netns-network.js';
import { runChaos } from './run-chaos.js';

const SEED = Number(process.env.SEED ?? Date.now() % 1_000_000);
const durationMs = Number(process.env.CHAOS_CI_MS ?? 20_000);
const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`test/chaos/chaos.test.ts: the netns variant is skipped: ${unavailable}`);

describe(`chaos: real agents under a seeded nemesis (seed ${SEED})`, () => {
  let dir: string | undefined;
  let passed = false;

  afterEach(() => {
    // A failed run keeps its directory (histories, agent logs) for the post-mortem.
    if (dir && passed) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
    passed = false;
  });

  async function run(network: 'netns' | 'proxy', seed: number): Promise<void> {
    dir = mkdtempSync(join(tmpdir(), `replog-chaos-${network}-${seed}-`));
    const report = await runChaos({ seed, durationMs, nodes: 3, network, dir, first: ['remove-readd', 'transfer-leader'], log: () => undefined });
    printReport(report);
    const why = `seed ${seed}, history ${report.historyFiles.join(' ')}`;
    expect(report.result.violations, why).toEqual([]);
    expect(report.crashes, why).toEqual([]);
    expect(report.result.summary.lost).toBe(0);
    expect(report.result.summary.divergent).toBe(0);
    expect(report.result.summary.acknowledged, why).toBeGreaterThan(50);
    expect(report.faults['remove-readd'], why).toBeGreaterThan(0);
    expect(report.faults['transfer-leader'], why).toBeGreaterThan(0);
    passed = true;
  }

  it.skipIf(unavailable !== undefined)('network namespaces: nothing acknowledged is lost or diverges', () => run('netns', SEED), 180_000);

  it('loopback proxy: nothing acknowledged is lost or diverges', () => run('proxy', SEED + 1), 180_000);
});
