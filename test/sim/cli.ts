/**
 * The simulator from the command line:
 *   npm run sim -- --seeds 100000 [--start 1] [--nodes 3|5] [--steps 300]
 *   npm run sim -- --seed 42 --trace
 * Without --nodes, a seed's cluster size is derived from the seed (odd: 3, even: 5), so a seed
 * alone replays a run exactly (given the same --steps).
 */
import { Command, InvalidArgumentError } from 'commander';
import { nodesForSeed, runSimulation, type SimResult } from './simulator.js';
import { SimViolation } from './violation.js';

const DEFAULT_STEPS = 300;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function clusterSize(value: string): number {
  const n = positiveInt(value);
  if (n !== 3 && n !== 5) throw new InvalidArgumentError('expected 3 or 5');
  return n;
}

interface CliOptions {
  seed?: number;
  seeds: number;
  start: number;
  nodes?: number;
  steps: number;
  trace: boolean;
  wipeDuringConfigChange: boolean;
}

function replayCommand(seed: number, o: CliOptions): string {
  const nodes = o.nodes !== undefined ? ` --nodes ${o.nodes}` : '';
  const steps = o.steps !== DEFAULT_STEPS ? ` --steps ${o.steps}` : '';
  const wipe = o.wipeDuringConfigChange ? '' : ' --no-wipe-during-config-change';
  return `npm run sim -- --seed ${seed}${nodes}${steps}${wipe} --trace`;
}

function runOne(seed: number, o: CliOptions): SimResult | null {
  const nodes = o.nodes ?? nodesForSeed(seed);
  try {
    const trace = o.trace ? (line: string): void => console.log(line) : undefined;
    return runSimulation({ seed, nodes, steps: o.steps, trace, wipeDuringConfigChange: o.wipeDuringConfigChange });
  } catch (err) {
    const what = err instanceof SimViolation ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(`FAIL seed=${seed} nodes=${nodes} steps=${o.steps}\n${what}`);
    console.error(`replay: ${replayCommand(seed, o)}`);
    return null;
  }
}

function summary(r: SimResult): string {
  const f = r.faults;
  return (
    `seed=${r.seed} nodes=${r.nodes} committed=${r.committedIndex} acked=${r.acked} ` +
    `crashes=${f.crashes} wipes=${f.wipes} partitions=${f.partitions} transfers=${f.transfers} ` +
    `compactions=${f.compactions} config=${r.membership.committed} recovery=${r.recoverySteps} steps`
  );
}

function main(argv: string[]): number {
  const program = new Command()
    .name('sim')
    .description('Seeded deterministic simulation of a Raft cluster under faults')
    .option('--seed <n>', 'run (replay) exactly this seed', positiveInt)
    .option('--seeds <n>', 'run this many seeds', positiveInt, 100)
    .option('--start <n>', 'first seed of --seeds', positiveInt, 1)
    .option('--nodes <n>', 'voters at bootstrap: 3 or 5 (default: from the seed)', clusterSize)
    .option('--steps <n>', 'steps of faults before healing', positiveInt, DEFAULT_STEPS)
    .option('--trace', 'print every event, one per line', false)
    .option('--no-wipe-during-config-change', 'never wipe a member while a membership change is pending')
    .parse(argv);
  const o = program.opts<CliOptions>();
  if (o.seed !== undefined) {
    const r = runOne(o.seed, o);
    if (r === null) return 1;
    console.log(summary(r));
    return 0;
  }
  const started = performance.now();
  for (let seed = o.start; seed < o.start + o.seeds; seed++) {
    if (runOne(seed, o) === null) return 1;
    const done = seed - o.start + 1;
    if (done % 1000 === 0) console.log(`${done} seeds passed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  const secs = (performance.now() - started) / 1000;
  console.log(`${o.seeds} seeds passed (seeds ${o.start}..${o.start + o.seeds - 1}) in ${secs.toFixed(1)} s`);
  return 0;
}

// `npm run sim -- --seed N --trace | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
process.exitCode = main(process.argv);
