import { describe, expect, it } from 'vitest';
import { ConfigError, LogFailedError } from '../../src/errors.js';
import { resolveLogConfig } from '../../src/log/config.js';
import type { FileSystem } from '../../src/log/fs.js';
import { InlineSyncGate } from '../../src/log/inline-sync-gate.js';
import { Log } from '../../src/log/log.js';
import { MemoryFileSystem } from '../../src/log/memory-fs.js';
import { Prng } from '../../src/util/prng.js';
import { wrapFileSystem } from '../helpers/wrap-fs.js';
import { readAll, value } from './helpers.js';

describe('InlineSyncGate', () => {
  it('stays shut until `window` fast flushes in a row were seen', () => {
    const gate = new InlineSyncGate(1, 4);
    for (let i = 0; i < 3; i++) {
      gate.observe(0.0002, false);
      expect(gate.isOpen()).toBe(false);
    }
    gate.observe(0.0002, false);
    expect(gate.isOpen()).toBe(true);
  });

  it('a slow inline flush shuts it until `window` fast ones follow', () => {
    const gate = new InlineSyncGate(1, 4);
    for (let i = 0; i < 4; i++) gate.observe(0.0002, true);
    gate.observe(0.001, true); // exactly the limit counts as slow
    for (let i = 0; i < 4; i++) {
      expect(gate.isOpen()).toBe(false);
      gate.observe(0.0002, true);
    }
    expect(gate.isOpen()).toBe(true);
  });

  it('a slow pooled flush proves nothing (its time holds the wait for the event loop): not counted', () => {
    const gate = new InlineSyncGate(1, 4);
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
    const slow = new InlineSyncGate(1, 4);
    for (let i = 0; i < 100; i++) slow.observe(0.002, false);
    expect(slow.isOpen()).toBe(false);
  });

  it('a limit of 0 never opens', () => {
    const gate = new InlineSyncGate(0, 2);
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
