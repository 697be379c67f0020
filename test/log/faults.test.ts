import { describe, expect, it } from 'vitest';
import { ClosedError, ConfigError, DiskFullError, LogFailedError } from '../../src/errors.js';
import { parseSyncPolicy, resolveLogConfig } from '../../src/log/config.js';
import { Log } from '../../src/log/log.js';
import { MemoryFileSystem } from '../../src/log/memory-fs.js';
import { NodeFileSystem } from '../../src/log/node-fs.js';
import { wrapFileSystem } from '../helpers/wrap-fs.js';
import { makeTempDir, readAll, removeTempDir, value } from './helpers.js';

describe('fsync failure', () => {
  it('fails the log: pending and later writes get LogFailedError, reads keep working', async () => {
    const fs = new MemoryFileSystem();
    const log = await Log.open('/l', { fs });
    await log.append({ value: value(0) });
    fs.failNextSync('EIO');
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => log.append({ value: value(i + 1) })));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(LogFailedError);
    }
    await expect(log.append({ value: value(9) })).rejects.toBeInstanceOf(LogFailedError);
    await expect(log.sync()).rejects.toBeInstanceOf(LogFailedError);
    await expect(log.truncateSuffix(0)).rejects.toBeInstanceOf(LogFailedError);
    expect(log.highestOffset()).toBe(0);
    expect((await log.read(0)).value.equals(value(0))).toBe(true);
    await log.close();
  });

  it('a failed fsync on roll is fatal too', async () => {
    const fs = new MemoryFileSystem();
    const log = await Log.open('/l', { fs, segment: { maxStoreBytes: 32 + 48, maxIndexBytes: 1024 } });
    await log.append({ value: value(0) });
    fs.failNextSync();
    await expect(log.append({ value: value(1) })).rejects.toBeInstanceOf(LogFailedError);
    await expect(log.append({ value: value(2) })).rejects.toBeInstanceOf(LogFailedError);
    await log.close();
  });
});

describe('disk full', () => {
  it('rejects with DiskFullError, leaves the log unchanged, resumes once space is freed', async () => {
    const fs = new MemoryFileSystem();
    const log = await Log.open('/l', { fs, segment: { maxStoreBytes: 32 + 3 * 48, maxIndexBytes: 1024 } });
    await log.appendBatch([0, 1].map((i) => ({ value: value(i) })));
    const used = fs.usedBytes();
    fs.capacityBytes = used + 60; // room for one record's frame but not its index entry + a second record
    const err = await log.appendBatch([2, 3].map((i) => ({ value: value(i) }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiskFullError);
    expect(fs.usedBytes()).toBe(used);
    expect(log.highestOffset()).toBe(1);
    // Across a roll: the new segment's files are removed again.
    fs.capacityBytes = used + 48 + 24 + 40;
    await expect(log.appendBatch([2, 3, 4].map((i) => ({ value: value(i) })))).rejects.toBeInstanceOf(DiskFullError);
    expect(log.segmentCount()).toBe(1);
    expect(fs.usedBytes()).toBe(used);
    fs.capacityBytes = Number.POSITIVE_INFINITY;
    expect(await log.appendBatch([2, 3, 4].map((i) => ({ value: value(i) })))).toBe(2);
    await log.close();
    const again = await Log.open('/l', { fs, segment: { maxStoreBytes: 32 + 3 * 48, maxIndexBytes: 1024 } });
    expect((await readAll(again)).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    await again.close();
  });
});

describe('a failed group and its readers', () => {
  it('a read of the last record, planned while a group fails and is undone, gets that record (ENOSPC in a later chunk)', async () => {
    const mem = new MemoryFileSystem();
    const maxGroupBytes = 64 * 1024;
    const opened: { log?: Log } = {};
    let failing = false;
    const reads: Promise<Buffer>[] = [];
    const readLast = (): void => {
      const { log } = opened;
      if (failing && log) reads.push(log.read(log.highestOffset()).then((r) => r.value));
    };
    const fs = wrapFileSystem(mem, {
      handle: (h) =>
        h.path.endsWith('.store')
          ? {
              write: (...a) => {
                readLast();
                return h.write(...a);
              },
              writeSync: (...a) => {
                readLast();
                h.writeSync(...a);
              },
              truncate: async (n) => {
                readLast();
                // A real ftruncate goes through the thread pool: readers run meanwhile.
                await new Promise((resolve) => setTimeout(resolve, 20));
                return h.truncate(n);
              },
            }
          : {},
    });
    const log = await Log.open('/l', { fs, maxGroupBytes });
    opened.log = log;
    await log.appendBatch(Array.from({ length: 10 }, (_, i) => ({ value: value(i, 1024) })));
    // Room for the first chunks of a 300-record append (written maxGroupBytes at a time), not all.
    mem.capacityBytes = mem.usedBytes() + 3 * maxGroupBytes;
    failing = true;
    const err = await log.appendBatch(Array.from({ length: 300 }, (_, i) => ({ value: value(100 + i, 1024) }))).catch((e: unknown) => e);
    failing = false;
    expect(err).toBeInstanceOf(DiskFullError);
    expect(reads.length).toBeGreaterThanOrEqual(3);
    for (const v of await Promise.all(reads)) expect(v.equals(value(9, 1024))).toBe(true);
    mem.capacityBytes = Number.POSITIVE_INFINITY;
    expect(await log.append({ value: value(10, 1024) })).toBe(10);
    expect((await log.read(9)).value.equals(value(9, 1024))).toBe(true);
    await log.close();
  });
});

describe('group commit', () => {
  it('1,000 concurrent appends share far fewer fsyncs, each resolving only after its sync', async () => {
    const fs = new MemoryFileSystem();
    const log = await Log.open('/l', { fs });
    const before = fs.stats.datasyncs;
    const syncedAtResolve: number[] = [];
    const appends = Array.from({ length: 1000 }, (_, i) =>
      log.append({ value: value(i, 1024) }).then((offset) => {
        // The record's bytes must already be covered by a completed fdatasync.
        syncedAtResolve.push(fs.stats.datasyncs);
        return offset;
      }),
    );
    const offsets = await Promise.all(appends);
    expect(offsets).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const syncs = fs.stats.datasyncs - before;
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThan(50);
    expect(syncedAtResolve.every((n) => n > before)).toBe(true);
    await log.close();
  });
});

describe('readers', () => {
  it.each(['memory', 'node'])('never see a partial record while appends run (%s fs)', async (kind) => {
    const dir = kind === 'node' ? await makeTempDir() : '/l';
    const fs = kind === 'node' ? new NodeFileSystem() : new MemoryFileSystem();
    try {
      const log = await Log.open(dir, { fs, segment: { maxStoreBytes: 4096, maxIndexBytes: 1024 } });
      const size = (j: number): number => 64 + (j % 50);
      let done = false;
      const writer = (async () => {
        for (let i = 0; i < 300; i += 3) await log.appendBatch([i, i + 1, i + 2].map((j) => ({ value: value(j, size(j)), term: 1 })));
        done = true;
      })();
      let reads = 0;
      const reader = async (): Promise<void> => {
        while (!done) {
          const high = log.highestOffset();
          if (high >= 0) {
            const batch = await log.readRange(0, 1000, 1 << 20);
            expect(batch.length).toBeGreaterThanOrEqual(high + 1);
            for (const r of batch) expect(r.value.equals(value(r.offset, size(r.offset)))).toBe(true);
            reads++;
          }
          // The writer starts its groups on a later turn of the event loop: let it turn.
          await new Promise((r) => setImmediate(r));
        }
      };
      await Promise.all([writer, reader(), reader()]);
      expect(reads).toBeGreaterThan(0);
      expect((await readAll(log)).length).toBe(300);
      await log.close();
    } finally {
      if (kind === 'node') await removeTempDir(dir);
    }
  });

  it('waitFor resolves on publish, rejects on abort and on close', async () => {
    const log = await Log.open('/l', { fs: new MemoryFileSystem() });
    const waiting = log.waitFor(1);
    await log.append({ value: value(0) });
    await log.append({ value: value(1) });
    await waiting;
    await log.waitFor(0);
    const ac = new AbortController();
    const aborted = log.waitFor(10, ac.signal);
    ac.abort();
    await expect(aborted).rejects.toThrow();
    const closing = log.waitFor(10);
    await log.close();
    await expect(closing).rejects.toBeInstanceOf(ClosedError);
    await expect(log.waitFor(0)).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('config', () => {
  it('parses sync policies with a clear error', () => {
    expect(parseSyncPolicy('always')).toEqual({ mode: 'always' });
    expect(parseSyncPolicy('never')).toEqual({ mode: 'never' });
    expect(parseSyncPolicy('interval:100')).toEqual({ mode: 'interval', intervalMs: 100 });
    expect(() => parseSyncPolicy('interval:0')).toThrow(ConfigError);
    expect(() => parseSyncPolicy('sometimes')).toThrow(/interval:<milliseconds>/);
    expect(() => resolveLogConfig({ segment: { maxStoreBytes: -1 } })).toThrow(/segment.maxStoreBytes/);
  });

  it('interval sync publishes on write and syncs in the background', async () => {
    const fs = new MemoryFileSystem();
    const log = await Log.open('/l', { fs, sync: { mode: 'interval', intervalMs: 5 } });
    const before = fs.stats.datasyncs;
    await log.append({ value: value(0) });
    expect(log.highestOffset()).toBe(0);
    const deadline = Date.now() + 5000;
    while (fs.stats.datasyncs === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(fs.stats.datasyncs).toBeGreaterThan(before);
    await log.close();
  });
});
