import { describe, expect, it } from 'vitest';
import { ConfigError, LogFailedError, StorageError } from '../../src/errors.js';
import { resolveLogConfig } from '../../src/log/config.js';
import type { FileSystem } from '../../src/log/fs.js';
import { InlineGate } from '../../src/log/inline-gate.js';
import { Log } from '../../src/log/log.js';
import { MemoryFileSystem } from '../../src/log/memory-fs.js';
import { Prng } from '../../src/util/prng.js';
import { wrapFileSystem } from '../helpers/wrap-fs.js';
import { readAll, value } from './helpers.js';

describe('InlineGate', () => {
  it('stays shut until `window` fast flushes in a row were seen', () => {
    const gate = new InlineGate(1, 4);
    for (let i = 0; i < 3; i++) {
      gate.observe(0.0002, false);
      expect(gate.isOpen()).toBe(false);
    }
    gate.observe(0.0002, false);
    expect(gate.isOpen()).toBe(true);
  });

  it('a second slow inline flush within `window` calls shuts it until `window` fast ones follow', () => {
    const gate = new InlineGate(1, 4);
    for (let i = 0; i < 4; i++) gate.observe(0.0002, true);
    gate.observe(0.001, true); // exactly the limit counts as slow; the first one is forgiven
    expect(gate.isOpen()).toBe(true);
    gate.observe(0.0002, true);
    gate.observe(0.0002, true);
    gate.observe(0.0002, true);
    gate.observe(0.003, true); // the 4th call after the forgiven one
    for (let i = 0; i < 4; i++) {
      expect(gate.isOpen()).toBe(false);
      gate.observe(0.0002, true);
    }
    expect(gate.isOpen()).toBe(true);
    // Shut and reopened: its next slow call is forgiven again.
    gate.observe(0.003, true);
    expect(gate.isOpen()).toBe(true);
    gate.observe(0.003, true);
    expect(gate.isOpen()).toBe(false);
  });

  it('forgives slow inline flushes more than `window` calls apart: outliers of a shared disk', () => {
    const gate = new InlineGate(1, 4);
    for (let i = 0; i < 4; i++) gate.observe(0.0002, true);
    for (let round = 0; round < 20; round++) {
      gate.observe(0.005, true);
      for (let i = 0; i < 4; i++) gate.observe(0.0002, true);
      expect(gate.isOpen(), `round ${round}`).toBe(true);
    }
  });

  it('shut() closes it at once until `window` fast calls follow', () => {
    const gate = new InlineGate(1, 2);
    gate.observe(0.0002, true);
    gate.observe(0.0002, true);
    expect(gate.isOpen()).toBe(true);
    gate.shut();
    expect(gate.isOpen()).toBe(false);
    gate.observe(0.0002, false);
    expect(gate.isOpen()).toBe(false);
    gate.observe(0.0002, false);
    expect(gate.isOpen()).toBe(true);
  });

  it('slow pooled calls between two slow inline ones do not space them out: a slow disk shuts it', () => {
    const gate = new InlineGate(1, 4);
    for (let i = 0; i < 4; i++) gate.observe(0.0002, true);
    gate.observe(0.005, true); // forgiven
    for (let i = 0; i < 40; i++) gate.observe(0.05, false); // a batching writer's slow pooled flushes
    expect(gate.isOpen()).toBe(true);
    gate.observe(0.005, true);
    expect(gate.isOpen()).toBe(false);
  });

  it('a slow pooled flush proves nothing (its time holds the wait for the event loop): not counted', () => {
    const gate = new InlineGate(1, 4);
    gate.observe(0.0002, false);
    gate.observe(0.0002, false);
    gate.observe(0.05, false);
    expect(gate.isOpen()).toBe(false);
    gate.observe(0.0002, false);
    gate.observe(0.0002, false);
    expect(gate.isOpen()).toBe(true);
    gate.observe(0.05, false);
    expect(gate.isOpen()).toBe(true);
    // A disk that is slow for every flush never opens it.
    const slow = new InlineGate(1, 4);
    for (let i = 0; i < 100; i++) slow.observe(0.002, false);
    expect(slow.isOpen()).toBe(false);
  });

  it('a limit of 0 never opens', () => {
    const gate = new InlineGate(0, 2);
    for (let i = 0; i < 10; i++) gate.observe(0, true);
    expect(gate.isOpen()).toBe(false);
  });

  it('the log refuses a negative or absurd limit', () => {
    expect(() => resolveLogConfig({ inlineSyncMaxMs: -1 })).toThrow(ConfigError);
    expect(() => resolveLogConfig({ inlineSyncMaxMs: Number.NaN })).toThrow(ConfigError);
    expect(() => resolveLogConfig({ inlineSyncMaxMs: 5000 })).toThrow(ConfigError);
    expect(resolveLogConfig({}).inlineSyncMaxMs).toBe(2);
  });
});

/** Counts the store flushes that ran on the calling thread and on the thread pool. */
function countingFs(inner: FileSystem): { fs: FileSystem; inline: () => number; pooled: () => number } {
  let inline = 0;
  let pooled = 0;
  const fs = wrapFileSystem(inner, {
    handle: (h) => ({
      datasync: () => {
        if (h.path.endsWith('.store')) pooled++;
        return h.datasync();
      },
      datasyncSync: () => {
        inline++;
        h.datasyncSync();
      },
    }),
  });
  return { fs, inline: () => inline, pooled: () => pooled };
}

/**
 * The gate's limit in these tests: no flush of the memory twin takes a second, so the gate opens
 * after the first 32 flushes however loaded the machine is (no timing in the assertions).
 */
const NEVER_SLOW_MS = 1000;

/** 32 lone appends: a full window of fast flushes, after which the gate is open. */
async function warm(log: Log, from: number): Promise<number> {
  for (let i = 0; i < 32; i++) await log.append({ value: value(from + i) });
  return from + 32;
}

describe('inline fdatasync in the log writer', () => {
  it('flushes a lone small append inline once the disk has been fast, and groups on the thread pool', async () => {
    const disk = new MemoryFileSystem();
    const c = countingFs(disk);
    const log = await Log.open('/l', { fs: c.fs, inlineSyncMaxMs: NEVER_SLOW_MS });
    let next = await warm(log, 0);
    expect(c.inline()).toBe(0);
    const pooledBefore = c.pooled();
    for (let i = 0; i < 10; i++) await log.append({ value: value(next++) });
    expect(c.inline()).toBe(10);
    expect(c.pooled()).toBe(pooledBefore);
    // Concurrent appends form groups: those are flushed on the thread pool.
    await Promise.all(Array.from({ length: 50 }, () => log.append({ value: value(next++) })));
    expect(c.inline()).toBe(10);
    expect(c.pooled()).toBeGreaterThan(pooledBefore);
    // So does a lone batch of several records (a batching caller under load).
    const beforeBatch = c.pooled();
    await log.appendBatch([{ value: value(next++) }, { value: value(next++) }]);
    expect(c.inline()).toBe(10);
    expect(c.pooled()).toBe(beforeBatch + 1);
    // A lone append bigger than 64 KiB goes to the thread pool too.
    const pooledAfterGroups = c.pooled();
    await log.append({ value: Buffer.alloc(65 * 1024, 1) });
    next++;
    expect(c.inline()).toBe(10);
    expect(c.pooled()).toBe(pooledAfterGroups + 1);
    expect((await readAll(log)).length).toBe(next);
    await log.close();
  });

  it('never flushes inline with inlineSyncMaxMs 0', async () => {
    const c = countingFs(new MemoryFileSystem());
    const log = await Log.open('/l', { fs: c.fs, inlineSyncMaxMs: 0 });
    await warm(log, 0);
    await warm(log, 32);
    expect(c.inline()).toBe(0);
    await log.close();
  });

  it('an inline-flushed append is durable when it resolves (power loss right after)', async () => {
    const disk = new MemoryFileSystem();
    const c = countingFs(disk);
    const log = await Log.open('/l', { fs: c.fs, inlineSyncMaxMs: NEVER_SLOW_MS });
    const next = await warm(log, 0);
    await log.append({ value: value(next) });
    expect(c.inline()).toBe(1);
    const after = disk.powerLoss(new Prng(7), { garble: true });
    const reopened = await Log.open('/l', { fs: after });
    const records = await readAll(reopened);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: next + 1 }, (_, i) => i));
    expect(records[next]?.value).toBe(value(next).toString('hex'));
    await reopened.close();
  });

  it('a failed inline fdatasync fails the log like a failed pooled one', async () => {
    const disk = new MemoryFileSystem();
    const c = countingFs(disk);
    const log = await Log.open('/l', { fs: c.fs, inlineSyncMaxMs: NEVER_SLOW_MS });
    const next = await warm(log, 0);
    disk.failNextSync('EIO');
    await expect(log.append({ value: value(next) })).rejects.toBeInstanceOf(LogFailedError);
    expect(c.inline()).toBe(1);
    await expect(log.append({ value: value(next + 1) })).rejects.toBeInstanceOf(LogFailedError);
    expect(log.highestOffset()).toBe(next - 1);
    expect((await log.read(next - 1)).value.equals(value(next - 1))).toBe(true);
    await log.close();
  });
});

/**
 * Counts the store reads done on the calling thread and on the thread pool. `slowInlineMs`
 * busy-waits in each inline read; `failInline` makes each inline read fail with EIO.
 */
function countingReads(inner: FileSystem): {
  fs: FileSystem;
  inline: () => number;
  pooled: () => number;
  slowInlineMs: (ms: number) => void;
  failInline: (on: boolean) => void;
} {
  let inline = 0;
  let pooled = 0;
  let slowMs = 0;
  let fail = false;
  const fs = wrapFileSystem(inner, {
    handle: (h) => ({
      read: (buf, offset, length, position) => {
        if (h.path.endsWith('.store')) pooled++;
        return h.read(buf, offset, length, position);
      },
      readSync: (buf, offset, length, position) => {
        if (h.path.endsWith('.store')) {
          inline++;
          const until = performance.now() + slowMs;
          while (performance.now() < until) {
            /* a read that missed the page cache */
          }
          if (fail) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
        }
        return h.readSync(buf, offset, length, position);
      },
    }),
  });
  return { fs, inline: () => inline, pooled: () => pooled, slowInlineMs: (ms) => (slowMs = ms), failInline: (on) => (fail = on) };
}

describe('inline reads in the log', () => {
  /** A log of `n` small records, opened on counting storage (the gate starts shut). */
  async function logWith(n: number, inlineReadMaxMs: number): Promise<{ log: Log; c: ReturnType<typeof countingReads> }> {
    const disk = new MemoryFileSystem();
    const c = countingReads(disk);
    const log = await Log.open('/l', { fs: c.fs, inlineReadMaxMs, sync: { mode: 'never' } });
    for (let i = 0; i < n; i += 100) await log.appendBatch(Array.from({ length: 100 }, (_, j) => ({ value: value(i + j) })));
    return { log, c };
  }

  it('reads small ranges on the calling thread once reads have been fast, large ones on the pool', async () => {
    const { log, c } = await logWith(2000, NEVER_SLOW_MS);
    for (let i = 0; i < 32; i++) expect((await log.read(i)).value.equals(value(i))).toBe(true);
    expect(c.inline()).toBe(0);
    const pooled = c.pooled();
    for (let i = 32; i < 64; i++) expect((await log.read(i)).value.equals(value(i))).toBe(true);
    expect(c.inline()).toBe(32);
    expect(c.pooled()).toBe(pooled);
    // More than 64 KiB of store bytes: the thread pool, and the records are the same.
    const many = await log.readRange(0, 2000, 1 << 30);
    expect(many.map((r) => r.offset)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(many.every((r, i) => r.value.equals(value(i)))).toBe(true);
    expect(c.inline()).toBe(32);
    expect(c.pooled()).toBe(pooled + 1);
    await log.close();
  });

  it('two slow inline reads within 32 send reads back to the pool until the next 32 fast ones', async () => {
    // A limit no read of the memory twin reaches however loaded the machine is, and a busy wait
    // above it for the slow reads: no timing decides the outcome.
    const { log, c } = await logWith(200, 50);
    let offset = 0;
    while (c.inline() === 0 && offset < 2000) await log.read(offset++ % 200);
    expect(c.inline()).toBe(1);
    c.slowInlineMs(60);
    await log.read(0);
    expect(c.inline()).toBe(2);
    // The first slow read is forgiven (an outlier); the second one shuts the gate.
    await log.read(1);
    expect(c.inline()).toBe(3);
    c.slowInlineMs(0);
    const pooled = c.pooled();
    await log.read(2);
    expect(c.inline()).toBe(3);
    expect(c.pooled()).toBe(pooled + 1);
    await log.close();
  });

  it('never reads inline with inlineReadMaxMs 0', async () => {
    const { log, c } = await logWith(200, 0);
    for (let i = 0; i < 100; i++) await log.read(i);
    expect(c.inline()).toBe(0);
    await log.close();
  });

  it('validates inlineReadMaxMs', () => {
    expect(() => resolveLogConfig({ inlineReadMaxMs: -1 })).toThrow(ConfigError);
    expect(() => resolveLogConfig({ inlineReadMaxMs: Number.POSITIVE_INFINITY })).toThrow(ConfigError);
    expect(resolveLogConfig({}).inlineReadMaxMs).toBe(1);
  });
});

describe('inline reads: failures and empty reads', () => {
  it('a failed inline read is a StorageError, leaves the log usable and sends reads to the pool', async () => {
    const c = countingReads(new MemoryFileSystem());
    const log = await Log.open('/l', { fs: c.fs, inlineReadMaxMs: NEVER_SLOW_MS, sync: { mode: 'never' } });
    await log.appendBatch(Array.from({ length: 100 }, (_, i) => ({ value: value(i) })));
    for (let i = 0; i < 32; i++) await log.read(i);
    await log.read(32);
    expect(c.inline()).toBe(1);
    c.failInline(true);
    await expect(log.read(33)).rejects.toBeInstanceOf(StorageError);
    expect(c.inline()).toBe(2);
    c.failInline(false);
    const before = c.pooled();
    expect((await log.read(33)).value.equals(value(33))).toBe(true);
    expect(c.inline()).toBe(2);
    expect(c.pooled()).toBe(before + 1);
    await log.close();
  });

  it('a read with nothing to read does not count as a fast read', async () => {
    const c = countingReads(new MemoryFileSystem());
    const log = await Log.open('/l', { fs: c.fs, inlineReadMaxMs: NEVER_SLOW_MS, sync: { mode: 'never' } });
    await log.appendBatch(Array.from({ length: 10 }, (_, i) => ({ value: value(i) })));
    for (let i = 0; i < 100; i++) expect(await log.readRange(10, 1, 1)).toEqual([]);
    await log.read(0);
    expect(c.inline()).toBe(0);
    expect(c.pooled()).toBe(1);
    await log.close();
  });

  it('refuses an inlineReadMaxMs that is not a number of milliseconds from 0 to 1000', () => {
    expect(() => resolveLogConfig({ inlineReadMaxMs: Number.NaN })).toThrow(ConfigError);
    expect(() => resolveLogConfig({ inlineReadMaxMs: 1001 })).toThrow(ConfigError);
  });
});
