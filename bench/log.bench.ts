/**
 * make bench-log [ARGS=--json] — the segmented log against this disk's own limits, in one run.
 * Figures are noisy on a shared 2-core machine: compare ratios, not absolute numbers.
 */
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Log } from '../src/log/log.js';
import type { LogOptions } from '../src/log/config.js';
import { Prng } from '../src/util/prng.js';

const RECORD_BYTES = 1024;
const DURATION_MS = Number(process.env.BENCH_MS ?? 3000);
const OPEN_RECORDS = Number(process.env.BENCH_OPEN_RECORDS ?? 1_000_000);
const json = process.argv.includes('--json');
const value = Buffer.alloc(RECORD_BYTES, 7);

interface Row {
  name: string;
  value: number;
  unit: string;
  reference?: string;
  ratio?: number;
  target?: string;
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'replog-bench-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Raw reference: write + fdatasync of 1 KiB per call, as fast as a plain loop can. */
function rawSyncsPerSec(dir: string): number {
  const fd = fs.openSync(join(dir, 'raw'), 'w');
  let n = 0;
  let pos = 0;
  const start = performance.now();
  while (performance.now() - start < DURATION_MS && n < 1_000_000) {
    fs.writeSync(fd, value, 0, value.length, pos);
    fs.fdatasyncSync(fd);
    pos += value.length;
    n++;
  }
  const secs = (performance.now() - start) / 1000;
  fs.closeSync(fd);
  return n / secs;
}

/** Raw reference: sequential 1 MiB writes, one fdatasync at the end. */
function rawWriteMBps(dir: string): number {
  const fd = fs.openSync(join(dir, 'rawseq'), 'w');
  const chunk = Buffer.alloc(1 << 20, 1);
  let written = 0;
  const start = performance.now();
  while (performance.now() - start < DURATION_MS && written < 2 * 1024 ** 3) {
    fs.writeSync(fd, chunk, 0, chunk.length, written);
    written += chunk.length;
  }
  fs.fdatasyncSync(fd);
  const secs = (performance.now() - start) / 1000;
  fs.closeSync(fd);
  return written / 1024 ** 2 / secs;
}

/** Appends with `inflight` outstanding appends for DURATION_MS; returns appends/s and the log. */
async function appendRate(dir: string, inflight: number, opts: LogOptions): Promise<number> {
  const log = await Log.open(dir, opts);
  let done = 0;
  const deadline = performance.now() + DURATION_MS;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && done < 5_000_000) {
      await log.append({ value });
      done++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const secs = (performance.now() - start) / 1000;
  await log.close();
  return done / secs;
}

async function fill(dir: string, records: number, size: number): Promise<void> {
  const log = await Log.open(dir, { sync: { mode: 'never' } });
  const v = Buffer.alloc(size, 3);
  const batch = Array.from({ length: 1000 }, () => ({ value: v }));
  for (let i = 0; i < records; i += batch.length) await log.appendBatch(batch.slice(0, Math.min(batch.length, records - i)));
  await log.close();
}

async function readRates(dir: string, records: number): Promise<{ seq: number; random: number }> {
  await fill(dir, records, RECORD_BYTES);
  const log = await Log.open(dir);
  let n = 0;
  let start = performance.now();
  for await (const batch of log.reader(0)) n += batch.length;
  const seq = n / ((performance.now() - start) / 1000);
  const rng = new Prng(42);
  let reads = 0;
  start = performance.now();
  while (performance.now() - start < DURATION_MS && reads < 1_000_000) {
    await log.read(rng.int(records));
    reads++;
  }
  const random = reads / ((performance.now() - start) / 1000);
  await log.close();
  return { seq, random };
}

async function openCost(dir: string): Promise<{ ms: number; rssMB: number }> {
  await fill(dir, OPEN_RECORDS, 64);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const start = performance.now();
  const log = await Log.open(dir);
  const ms = performance.now() - start;
  const rssMB = (process.memoryUsage().rss - rssBefore) / 1024 ** 2;
  if (log.highestOffset() !== OPEN_RECORDS - 1) throw new Error(`opened ${log.highestOffset() + 1} records`);
  await log.close();
  return { ms, rssMB };
}

async function main(): Promise<void> {
  const raw = await withDir((d) => Promise.resolve({ syncs: rawSyncsPerSec(d), mbps: rawWriteMBps(d) }));
  const one = await withDir((d) => appendRate(d, 1, {}));
  const many = await withDir((d) => appendRate(d, 256, {}));
  const never = await withDir((d) => appendRate(d, 256, { sync: { mode: 'never' } }));
  const reads = await withDir((d) => readRates(d, 200_000));
  const open = await withDir((d) => openCost(d));
  const mb = (rate: number): number => (rate * (RECORD_BYTES + 32)) / 1024 ** 2;
  const rows: Row[] = [
    { name: 'raw write+fdatasync 1 KiB', value: raw.syncs, unit: 'syncs/s' },
    { name: 'raw sequential write', value: raw.mbps, unit: 'MB/s' },
    { name: 'append, sync always, 1 in flight', value: one, unit: 'appends/s', reference: 'raw syncs/s', ratio: one / raw.syncs, target: '>= 0.8x' },
    { name: 'append, sync always, 256 in flight', value: many, unit: 'appends/s', reference: 'raw syncs/s', ratio: many / raw.syncs, target: '>= 100,000/s' },
    { name: 'append, sync never, 256 in flight', value: never, unit: 'appends/s', reference: 'raw MB/s', ratio: mb(never) / raw.mbps },
    { name: 'sequential read (reader)', value: reads.seq, unit: 'records/s', reference: 'raw MB/s', ratio: mb(reads.seq) / raw.mbps, target: '>= 500,000/s' },
    { name: 'random read', value: reads.random, unit: 'records/s' },
    { name: `open ${OPEN_RECORDS.toLocaleString('en')} records (64 B)`, value: open.ms, unit: 'ms', target: '< 1000 ms' },
    { name: 'open: RSS growth', value: open.rssMB, unit: 'MB' },
  ];
  if (json) {
    console.log(JSON.stringify({ recordBytes: RECORD_BYTES, durationMs: DURATION_MS, rows }));
    return;
  }
  console.log(`replog log benchmark: ${RECORD_BYTES} B records, ${DURATION_MS} ms per figure (shared machine: noisy)\n`);
  console.log(`${'measure'.padEnd(42)} ${'value'.padStart(14)} ${'unit'.padEnd(10)} ${'ratio'.padStart(8)}  reference / target`);
  for (const r of rows) {
    const ratio = r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`;
    const ref = [r.reference, r.target].filter(Boolean).join(' / ');
    console.log(`${r.name.padEnd(42)} ${Math.round(r.value).toLocaleString('en').padStart(14)} ${r.unit.padEnd(10)} ${ratio.padStart(8)}  ${ref}`);
  }
}

await main();
