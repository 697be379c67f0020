/**
 * make bench-peers [PEERS_ARGS="--records 20000 --reps 3 --json --only replog1,nats3"] — the same
 * workload against replog (1 and 3 nodes, sync always), NATS JetStream (R1, R3) and etcd (3
 * members), all on 127.0.0.1 in temp dirs: 1 KiB records, N at 1 in flight, N at 256 in flight,
 * then a read-back of the 2N; R repetitions (min / median / max). Prints a table with a
 * `replog / peer` column per figure, the issue's targets, and saves a copy under bench/results/.
 * Every server is stopped by PID at the end of its system, on failure, and on SIGINT/SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runProducePhase, runReadPhase } from '../../src/cli/bench/workload.js';
import { fsyncReference } from '../lib/references.js';
import { EtcdSystem } from './etcd.js';
import { addRatios, checkTargets, summarize, type RepFigures, type SystemRow } from './figures.js';
import { NatsSystem, natsFsyncNote } from './nats.js';
import { installCleanupHandlers } from './processes.js';
import { ReplogSystem } from './replog.js';
import type { PeerSystem } from './system.js';
import { markdownTable, targetLines, textTable } from './table.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '20000' },
    reps: { type: 'string', default: '3' },
    size: { type: 'string', default: '1024' },
    inflight: { type: 'string', default: '256' },
    only: { type: 'string', default: 'replog1,replog3,nats1,nats3,etcd' },
    mode: { type: 'string', default: 'stream' },
    requests: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    'results-dir': { type: 'string', default: join(import.meta.dirname, '..', 'results') },
    'no-save': { type: 'boolean', default: false },
  },
});

const records = int('--records', args.records, 1);
const reps = int('--reps', args.reps, 1);
const sizeBytes = int('--size', args.size, 1);
const highInflight = int('--inflight', args.inflight, 2);
const phaseDeadlineMs = 20 * 60_000;
const mode = args.mode === 'unary' ? 'unary' : 'stream';

function int(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name}: expected an integer >= ${min}, got "${text}"`);
  return n;
}

function systems(): PeerSystem[] {
  const replog = (nodes: number): ReplogSystem => new ReplogSystem({ nodes, mode, requests: int('--requests', args.requests, 1), maxBatchRecords: 1000, inflightMax: highInflight });
  const all: Record<string, () => PeerSystem> = {
    replog1: () => replog(1),
    replog3: () => replog(3),
    nats1: () => new NatsSystem(1, 'replog 1 node'),
    nats3: () => new NatsSystem(3, 'replog 3 nodes'),
    etcd: () => new EtcdSystem('replog 3 nodes'),
  };
  return args.only.split(',').map((name) => {
    const make = all[name.trim()];
    if (make === undefined) throw new Error(`--only: unknown system "${name}" (known: ${Object.keys(all).join(', ')})`);
    return make();
  });
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function measureRep(sys: PeerSystem, rep: number): Promise<RepFigures> {
  await sys.beginRep(rep);
  const value = Buffer.alloc(sizeBytes, 'x');
  const produce = (inflight: number): ReturnType<typeof runProducePhase> =>
    runProducePhase({ records, inflight, valueBytes: sizeBytes, produce: () => sys.produce(value), deadlineMs: phaseDeadlineMs });
  const one = await produce(1);
  const high = await produce(highInflight);
  const read = await runReadPhase({ records: 2 * records, valueBytes: sizeBytes, read: (signal) => sys.readBack(2 * records, signal), deadlineMs: phaseDeadlineMs });
  const figures: RepFigures = {
    oneInflightRps: one.recordsPerSec,
    oneInflightP50Ms: one.latency.p50Ms,
    highInflightRps: high.recordsPerSec,
    highInflightP99Ms: high.latency.p99Ms,
    readBackRps: read.recordsPerSec,
  };
  log(`  ${sys.name} rep ${rep + 1}/${reps}: 1 in flight ${Math.round(one.recordsPerSec)}/s (p50 ${one.latency.p50Ms.toFixed(2)} ms), ${highInflight} in flight ${Math.round(high.recordsPerSec)}/s (p99 ${high.latency.p99Ms.toFixed(2)} ms), read-back ${Math.round(read.recordsPerSec)}/s`);
  return figures;
}

/** This disk's write + fdatasync rate now, in the temp dir the servers use. */
function diskReference(): { perSecond: number; p50Ms: number } {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-peers-'));
  try {
    return fsyncReference(scratch, sizeBytes);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function measure(sys: PeerSystem): Promise<SystemRow> {
  const disk = diskReference();
  log(`${sys.name}: starting (disk write+fdatasync of ${sizeBytes} B just before: ${Math.round(disk.perSecond)}/s, p50 ${disk.p50Ms.toFixed(3)} ms)`);
  try {
    await sys.start();
    const results: RepFigures[] = [];
    for (let rep = 0; rep < reps; rep++) results.push(await measureRep(sys, rep));
    return summarize(sys.name, sys.comparedWith, results, disk.perSecond);
  } finally {
    await sys.stop();
  }
}

function diskLine(rows: readonly SystemRow[], end: { perSecond: number; p50Ms: number }): string {
  const before = rows.map((r) => `${Math.round(r.fsyncPerSecBefore)}/s before ${r.system}`).join(', ');
  return `${before}; ${Math.round(end.perSecond)}/s at the end (p50 ${end.p50Ms.toFixed(3)} ms)`;
}

function version(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 10_000 }).split('\n')[0]?.trim() ?? '';
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const chosen = systems();
  installCleanupHandlers(async () => {
    await Promise.all(chosen.map((s) => s.stop().catch((err: unknown) => log(`${s.name}: stop failed: ${String(err)}`))));
  });
  const rows: SystemRow[] = [];
  for (const sys of chosen) rows.push(await measure(sys));
  const fsync = diskReference();
  addRatios(rows);
  const targets = checkTargets(rows);
  const result = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` },
    peers: { natsServer: version('nats-server', ['--version']), etcd: version('etcd', ['--version']), natsClient: '@nats-io/jetstream 3.4', etcdClient: 'etcd3 (npm)' },
    workload: { records, reps, sizeBytes, highInflight, replogProduce: `${mode}, coalesced batches, ${args.requests} requests in flight`, readBackRecords: 2 * records },
    references: { fsyncPerSecAtEnd: Math.round(fsync.perSecond), fsyncP50MsAtEnd: fsync.p50Ms, fsyncPerSecBeforeEachSystem: Object.fromEntries(rows.map((r) => [r.system, Math.round(r.fsyncPerSecBefore)])) },
    notes: [natsFsyncNote],
    rows,
    targets,
  };
  const text = [
    `replog vs peers, ${result.date}: ${records} records of ${sizeBytes} B per phase, ${reps} repetition(s), median [min-max]`,
    `machine: ${result.machine.cores} cores (${result.machine.cpu}), Node ${result.machine.node}; ${result.peers.natsServer}; ${result.peers.etcd}`,
    `disk write+fdatasync of ${sizeBytes} B: ${diskLine(rows, fsync)}`,
    '',
    textTable(rows, highInflight),
    '',
    ...targetLines(targets),
    '',
    `note: ${natsFsyncNote}`,
  ].join('\n');
  process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : `${text}\n`);
  if (!args['no-save']) {
    const dir = args['results-dir'];
    mkdirSync(dir, { recursive: true });
    const stamp = result.date.slice(0, 16).replace(/:/g, '-');
    const markdown = [
      `# replog vs peers, ${result.date}`,
      '',
      `${records} records of ${sizeBytes} B per phase, ${reps} repetition(s); cells are median [min-max]; replog/peer compares the medians.`,
      `Machine: ${result.machine.cores} cores (${result.machine.cpu}), Node ${result.machine.node}, ${result.peers.natsServer}, ${result.peers.etcd}.`,
      `Disk write+fdatasync of ${sizeBytes} B in the same run: ${diskLine(rows, fsync)}.`,
      '',
      markdownTable(rows, highInflight),
      '',
      ...targetLines(targets).map((l) => `- ${l}`),
      '',
      `Note: ${natsFsyncNote}`,
      '',
    ].join('\n');
    writeFileSync(join(dir, `peers-${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(dir, `peers-${stamp}.md`), markdown);
    log(`saved ${join(dir, `peers-${stamp}.{json,md}`)}`);
  }
}

main().catch((err: unknown) => {
  log(`bench-peers failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
