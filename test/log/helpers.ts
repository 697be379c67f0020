import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Log } from '../../src/log/log.js';
import type { LogOptions } from '../../src/log/config.js';
import type { FileSystem } from '../../src/log/fs.js';

/** A fresh temp dir; remove it with `removeTempDir` in teardown. */
export function makeTempDir(prefix = 'replog-log-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function removeTempDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** A seed from REPLOG_SEED or the clock; printed so any failure can be replayed. */
export function testSeed(label: string): number {
  const fromEnv = process.env.REPLOG_SEED;
  const seed = fromEnv !== undefined ? Number(fromEnv) : Date.now() % 2 ** 31;
  console.log(`[${label}] seed=${seed} (rerun with REPLOG_SEED=${seed})`);
  return seed;
}

/** Runs `fn` and, if it fails, reports the seed in the error message. */
export async function withSeed(seed: number, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof Error) err.message = `[seed=${seed}] ${err.message}`;
    throw err;
  }
}

export function value(i: number, size = 16): Buffer {
  const b = Buffer.alloc(size, i % 251);
  b.write(`v${i}`, 0, 'latin1');
  return b;
}

/** Reads every record of a log into [offset, value] pairs. */
export async function readAll(log: Log): Promise<{ offset: number; term: number; value: string }[]> {
  const out: { offset: number; term: number; value: string }[] = [];
  for await (const batch of log.reader(log.lowestOffset())) {
    for (const r of batch) out.push({ offset: r.offset, term: r.term, value: r.value.toString('hex') });
  }
  return out;
}

/** Tiny limits that force frequent rolls: a few 16-byte records per segment. */
export function tinySegments(fs: FileSystem, extra: LogOptions = {}): LogOptions {
  return { fs, segment: { maxStoreBytes: 32 + 3 * 48, maxIndexBytes: 32 + 4 * 24, initialOffset: 0 }, ...extra };
}
