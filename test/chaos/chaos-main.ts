/**
 * `make chaos SEED=7 DURATION=10m [NODES=5] [NETWORK=proxy]`: one long chaos run, not part of CI.
 * Prints the seed first, the summary table and every violation at the end, and exits 1 when the
 * checker fails (the seed and the history files are printed again then). The run dir is kept.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { errorMessage } from '../../src/errors.js';
import { netnsUnavailableReason } from './netns-network.js';
import { printReport } from './report.js';
import { runChaos } from './run-chaos.js';

interface MainOptions {
  seed?: string;
  duration: string;
  nodes: string;
  network: string;
  dir?: string;
}

/** `90s`, `10m`, `1h` or plain milliseconds. */
function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`expected a duration like 90s or 10m, got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--seed <n>', 'PRNG seed (default: random)')
    .option('--duration <d>', 'length of the fault phase (90s, 10m)', '60s')
    .option('--nodes <n>', '3 or 5', '3')
    .option('--network <kind>', 'auto | netns | proxy', 'auto')
    .option('--dir <dir>', 'run directory (default: a new temp dir)')
    .parse()
    .opts<MainOptions>();
  const seed = o.seed !== undefined && o.seed !== '' ? Number(o.seed) : Math.floor(Math.random() * 2 ** 31);
  const unavailable = netnsUnavailableReason();
  if (o.network === 'netns' && unavailable) throw new Error(`the netns network is not available: ${unavailable}`);
  const network = o.network === 'proxy' || (o.network === 'auto' && unavailable) ? 'proxy' : 'netns';
  if (network === 'proxy' && o.network === 'auto') console.log(`using the proxy network: ${unavailable}`);
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), `replog-chaos-${seed}-`));
  const report = await runChaos({ seed, durationMs: parseDuration(o.duration), nodes: Number(o.nodes), network, dir });
  printReport(report);
  if (!report.result.ok || report.crashes.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`chaos run failed: ${errorMessage(err)}`);
  process.exitCode = 1;
});
