/**
 * make bench-log [ARGS="--json --quick"]: the segmented log against this disk's own limits.
 *
 * Every replog figure is measured next to a raw reference doing the same I/O with plain node:fs
 * calls, in the same repetition, so the ratio holds even when the shared machine's load moves the
 * absolute numbers. Each figure: a warm-up, then REPS repetitions of (raw, replog), each bounded in
 * time and in count; the table shows the median and the minimum of the repetitions. `--quick`
 * shortens every run and shrinks the data sets (a smoke test, not a measurement).
 * Environment: BENCH_MS (duration of one run), BENCH_REPS, BENCH_READ_RECORDS, BENCH_OPEN_RECORDS.
 */
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Log } from '../src/log/log.js';
import type { LogOptions } from '../src/log/config.js';
import { RECORD_HEADER_BYTES } from '../src/log/record.js';
import { Prng } from '../src/util/prng.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const RECORD_BYTES = 1024;
const FRAME_BYTES = RECORD_BYTES + RECORD_HEADER_BYTES;
const INFLIGHT = 256;
const DURATION_MS = Number(process.env.BENCH_MS ?? (quick ? 300 : 2000));
const REPS = Number(process.env.BENCH_REPS ?? 3);
const READ_RECORDS = Number(process.env.BENCH_READ_RECORDS ?? (quick ? 20_000 : 200_000));
const OPEN_RECORDS = Number(process.env.BENCH_OPEN_RECORDS ?? (quick ? 100_000 : 1_000_000));
const MAX_OPS = 10_000_000;
const value = Buffer.alloc(RECORD_BYTES, 7);

/** One figure: its value in each repetition, and the raw reference measured next to it. */
interface Row {
  name: string;
  unit: string;
  values: number[];
  reference?: { name: string; unit: string; values: number[] };
  /** Ratio value / reference, per repetition. */
  ratios?: number[];
  target?: string;
  note?: string;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const min = (xs: number[]): number => Math.min(...xs);

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'replog-bench-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `op` until `ms` pass (or MAX_OPS); returns operations per second. */
async function rate(ms: number, op: () => Promise<unknown> | void): Promise<number> {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms && n < MAX_OPS) {
    await op();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

/** `workers` concurrent loops of `op` for `ms`; returns completed operations per second. */
async function concurrentRate(ms: number, workers: number, op: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const start = performance.now();
  const deadline = start + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && n < MAX_OPS) {
      await op();
      n++;
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return n / ((performance.now() - start) / 1000);
}

/** Raw reference: appending writes of `bytes` bytes, each followed by fdatasync (sync calls). */
function rawSyncedWrites(dir: string, bytes: number, ms: number): number {
  const buf = Buffer.alloc(bytes, 1);
  const path = join(dir, `raw-${bytes}`);
  const fd = fs.openSync(path, 'w');
  let pos = 0;
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms && n < MAX_OPS) {
    fs.writeSync(fd, buf, 0, bytes, pos);
    fs.fdatasyncSync(fd);
    pos += bytes;
    n++;
  }
  const perSec = n / ((performance.now() - start) / 1000);
  fs.closeSync(fd);
  fs.unlinkSync(path);
  return perSec;
}

/** Raw reference: sequential 1 MiB writes, one fdatasync at the end; MB/s. */
function rawWriteMBps(dir: string, ms: number): number {
  const path = join(dir, 'raw-seq');
  const fd = fs.openSync(path, 'w');
  const chunk = Buffer.alloc(1 << 20, 1);
  let written = 0;
  const start = performance.now();
  while (performance.now() - start < ms && written < 4 * 1024 ** 3) {
    fs.writeSync(fd, chunk, 0, chunk.length, written);
    written += chunk.length;
  }
  fs.fdatasyncSync(fd);
  const mbps = written / 1024 ** 2 / ((performance.now() - start) / 1000);
  fs.closeSync(fd);
  fs.unlinkSync(path);
  return mbps;
}

interface AppendRun {
  appendsPerSec: number;
  fsyncsPerSec: number;
  meanFsyncMs: number;
}

/** Appends 1 KiB records from `inflight` concurrent callers into a fresh log for `ms`. */
async function appendRun(dir: string, inflight: number, ms: number, opts: LogOptions): Promise<AppendRun> {
  let fsyncs = 0;
  let fsyncSecs = 0;
  const onFsync = (s: number): void => {
    fsyncs++;
    fsyncSecs += s;
  };
  const logDir = join(dir, `log-${Math.random().toString(36).slice(2)}`);
  const log = await Log.open(logDir, { ...opts, onFsync });
  const start = performance.now();
  const appendsPerSec = await concurrentRate(ms, inflight, () => log.append({ value }));
  const secs = (performance.now() - start) / 1000;
  const counted = fsyncs;
  await log.close();
  await rm(logDir, { recursive: true, force: true });
  return { appendsPerSec, fsyncsPerSec: counted / secs, meanFsyncMs: counted === 0 ? 0 : (1000 * fsyncSecs) / counted };
}

/** Warm-up, then REPS x (raw, replog); returns the per-repetition results. */
async function paired<R, L>(warm: () => Promise<unknown>, raw: () => Promise<R> | R, replog: () => Promise<L>): Promise<{ raw: R[]; log: L[] }> {
  await warm();
  const out: { raw: R[]; log: L[] } = { raw: [], log: [] };
  for (let i = 0; i < REPS; i++) {
    out.raw.push(await raw());
    out.log.push(await replog());
  }
  return out;
}

/** A 1-in-flight append row's figures next to the raw 1 KiB write+fdatasync rate of the same pairs. */
function againstRawSyncs(m: { raw: number[]; log: AppendRun[] }): Pick<Row, 'unit' | 'values' | 'reference' | 'ratios'> {
  return {
    unit: 'appends/s',
    values: m.log.map((r) => r.appendsPerSec),
    reference: { name: 'raw write+fdatasync 1 KiB', unit: 'syncs/s', values: m.raw },
    ratios: m.log.map((r, i) => r.appendsPerSec / (m.raw[i] ?? NaN)),
  };
}

async function appendRows(dir: string): Promise<Row[]> {
  const warmMs = Math.max(100, DURATION_MS / 5);
  const one = await paired(
    () => appendRun(dir, 1, warmMs, {}),
    () => rawSyncedWrites(dir, RECORD_BYTES, DURATION_MS),
    () => appendRun(dir, 1, DURATION_MS, {}),
  );
  // The same with every flush on the libuv thread pool (no inline fdatasync of lone appends).
  const pooled = await paired(
    () => appendRun(dir, 1, warmMs, { inlineSyncMaxMs: 0 }),
    () => rawSyncedWrites(dir, RECORD_BYTES, DURATION_MS),
    () => appendRun(dir, 1, DURATION_MS, { inlineSyncMaxMs: 0 }),
  );
  const groupBytes = INFLIGHT * FRAME_BYTES;
  const many = await paired(
    () => appendRun(dir, INFLIGHT, warmMs, {}),
    () => rawSyncedWrites(dir, groupBytes, DURATION_MS),
    () => appendRun(dir, INFLIGHT, DURATION_MS, {}),
  );
  const never = await paired(
    () => appendRun(dir, INFLIGHT, warmMs, { sync: { mode: 'never' } }),
    () => rawWriteMBps(dir, DURATION_MS),
    () => appendRun(dir, INFLIGHT, DURATION_MS, { sync: { mode: 'never' } }),
  );
  const ceiling = many.raw.map((syncs) => syncs * INFLIGHT);
  const perFsync = many.log.map((r) => r.appendsPerSec / r.fsyncsPerSec);
  const neverMBps = never.log.map((r) => (r.appendsPerSec * FRAME_BYTES) / 1024 ** 2);
  return [
    {
      name: 'append, sync always, 1 in flight',
      ...againstRawSyncs(one),
      target: '>= 0.8x',
      note: 'a lone append is fdatasynced on the event-loop thread once 32 flushes in a row took < 2 ms (inlineSyncMaxMs)',
    },
    {
      name: 'append, 1 in flight, pool flush',
      ...againstRawSyncs(pooled),
      note: 'inlineSyncMaxMs 0: every fdatasync on the libuv thread pool (the cost of the cross-thread round trip)',
    },
    {
      name: `append, sync always, ${INFLIGHT} in flight`,
      unit: 'appends/s',
      values: many.log.map((r) => r.appendsPerSec),
      reference: { name: `ceiling ${INFLIGHT} x raw write+fdatasync ${groupBytes >> 10} KiB`, unit: 'records/s', values: ceiling },
      ratios: many.log.map((r, i) => r.appendsPerSec / (ceiling[i] ?? NaN)),
      target: '>= 100,000/s',
      note: `records/fsync ${median(perFsync).toFixed(1)}, log fsyncs/s ${Math.round(median(many.log.map((r) => r.fsyncsPerSec)))}, mean log fsync ${median(many.log.map((r) => r.meanFsyncMs)).toFixed(2)} ms; raw ${groupBytes >> 10} KiB syncs/s ${Math.round(median(many.raw))}`,
    },
    {
      name: `append, sync never, ${INFLIGHT} in flight`,
      unit: 'appends/s',
      values: never.log.map((r) => r.appendsPerSec),
      reference: { name: 'raw sequential write', unit: 'MB/s', values: never.raw },
      ratios: neverMBps.map((mbps, i) => mbps / (never.raw[i] ?? NaN)),
      note: 'ratio compares MB/s of framed records',
    },
  ];
}

/** Fills a log with `records` records of `size` bytes (sync never, batches of 1000). */
async function fill(dir: string, records: number, size: number): Promise<void> {
  const log = await Log.open(dir, { sync: { mode: 'never' } });
  const v = Buffer.alloc(size, 3);
  const batch = Array.from({ length: 1000 }, () => ({ value: v }));
  for (let i = 0; i < records; i += batch.length) await log.appendBatch(batch.slice(0, Math.min(batch.length, records - i)));
  await log.close();
}

function storeFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.store')).sort().map((n) => join(dir, n));
}

/** Raw reference: every store file read front to back in 1 MiB preads (async, like the reader); bytes/s. */
async function rawSequentialRead(files: string[]): Promise<number> {
  const buf = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  const start = performance.now();
  const pread = (fd: number, pos: number): Promise<number> =>
    new Promise<number>((res, rej) => fs.read(fd, buf, 0, buf.length, pos, (e, r) => (e ? rej(e) : res(r))));
  for (const path of files) {
    const fd = fs.openSync(path, 'r');
    for (let pos = 0, n = -1; n !== 0; pos += n) {
      n = await pread(fd, pos);
      bytes += n;
    }
    fs.closeSync(fd);
  }
  return bytes / ((performance.now() - start) / 1000);
}

/** Raw reference: async preads of one frame at random frame positions of the first store file. */
async function rawRandomRead(file: string, ms: number): Promise<number> {
  const fd = fs.openSync(file, 'r');
  const frames = Math.floor((fs.fstatSync(fd).size - 32) / FRAME_BYTES);
  const buf = Buffer.allocUnsafe(FRAME_BYTES);
  const rng = new Prng(7);
  const perSec = await rate(ms, () => new Promise<number>((res, rej) => fs.read(fd, buf, 0, FRAME_BYTES, 32 + rng.int(frames) * FRAME_BYTES, (e, r) => (e ? rej(e) : res(r)))));
  fs.closeSync(fd);
  return perSec;
}

async function readAll(log: Log): Promise<number> {
  let n = 0;
  const start = performance.now();
  for await (const batch of log.reader(log.lowestOffset())) n += batch.length;
  return n / ((performance.now() - start) / 1000);
}

async function readRows(dir: string): Promise<Row[]> {
  await fill(dir, READ_RECORDS, RECORD_BYTES);
  const log = await Log.open(dir);
  const files = storeFiles(dir);
  const seq = await paired(() => readAll(log), () => rawSequentialRead(files), () => readAll(log));
  const rng = new Prng(42);
  const first = files[0] ?? '';
  const random = await paired(
    () => rate(DURATION_MS / 5, () => log.read(rng.int(READ_RECORDS))),
    () => rawRandomRead(first, DURATION_MS),
    () => rate(DURATION_MS, () => log.read(rng.int(READ_RECORDS))),
  );
  await log.close();
  const rawSeqRecords = seq.raw.map((bps) => bps / FRAME_BYTES);
  return [
    {
      name: 'sequential read (reader)',
      unit: 'records/s',
      values: seq.log,
      reference: { name: 'raw 1 MiB preads of the store files', unit: 'records/s', values: rawSeqRecords },
      ratios: seq.log.map((r, i) => r / (rawSeqRecords[i] ?? NaN)),
      target: '>= 500,000/s',
      note: `${READ_RECORDS.toLocaleString('en')} records; raw = store bytes / ${FRAME_BYTES}, preads into one reused buffer (the reader needs a fresh one per batch: its values are views)`,
    },
    {
      name: 'random read, 1 in flight',
      unit: 'records/s',
      values: random.log,
      reference: { name: `raw async pread of ${FRAME_BYTES} B`, unit: 'reads/s', values: random.raw },
      ratios: random.log.map((r, i) => r / (random.raw[i] ?? NaN)),
    },
  ];
}

/** Raw reference: reading every index file whole (what open must at least do); ms. */
function rawReadIndexes(dir: string): number {
  const start = performance.now();
  for (const n of fs.readdirSync(dir)) if (n.endsWith('.index')) fs.readFileSync(join(dir, n));
  return performance.now() - start;
}

async function openRows(dir: string): Promise<Row[]> {
  await fill(dir, OPEN_RECORDS, 64);
  const rss: number[] = [];
  const open = async (): Promise<number> => {
    const rssBefore = process.memoryUsage().rss;
    const start = performance.now();
    const log = await Log.open(dir);
    const ms = performance.now() - start;
    rss.push((process.memoryUsage().rss - rssBefore) / 1024 ** 2);
    if (log.highestOffset() !== OPEN_RECORDS - 1) throw new Error(`opened ${log.highestOffset() + 1} records`);
    await log.close();
    return ms;
  };
  const runs = await paired(open, () => rawReadIndexes(dir), open);
  return [
    {
      name: `open ${OPEN_RECORDS.toLocaleString('en')} records (64 B)`,
      unit: 'ms',
      values: runs.log,
      reference: { name: 'raw read of every index file', unit: 'ms', values: runs.raw },
      ratios: runs.log.map((ms, i) => ms / (runs.raw[i] ?? NaN)),
      target: '< 1000 ms',
    },
    { name: 'open: RSS growth (first open)', unit: 'MB', values: rss.slice(0, 1) },
  ];
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(1);
}

function printTable(rows: Row[]): void {
  console.log(`replog log benchmark: ${RECORD_BYTES} B records, ${DURATION_MS} ms per run, median and min of ${REPS} runs${quick ? ' (--quick: smoke test only)' : ''}\n`);
  const head = `${'measure'.padEnd(36)} ${'median'.padStart(11)} ${'min'.padStart(11)} ${'unit'.padEnd(10)} ${'ratio'.padStart(6)}  ${'reference (median)'.padEnd(52)} target`;
  console.log(head);
  for (const r of rows) {
    const ratio = r.ratios ? `${median(r.ratios).toFixed(2)}x` : '';
    const ref = r.reference ? `${fmt(median(r.reference.values))} ${r.reference.unit}: ${r.reference.name}` : '';
    console.log(`${r.name.padEnd(36)} ${fmt(median(r.values)).padStart(11)} ${fmt(min(r.values)).padStart(11)} ${r.unit.padEnd(10)} ${ratio.padStart(6)}  ${ref.padEnd(52)} ${r.target ?? ''}`);
    if (r.note) console.log(`${''.padEnd(36)} ${r.note}`);
  }
}

async function main(): Promise<void> {
  const rows = [
    ...(await withDir(appendRows)),
    ...(await withDir(readRows)),
    ...(await withDir(openRows)),
  ];
  if (json) console.log(JSON.stringify({ recordBytes: RECORD_BYTES, durationMs: DURATION_MS, reps: REPS, quick, rows }));
  else printTable(rows);
}

await main();
