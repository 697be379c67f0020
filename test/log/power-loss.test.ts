import { describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';
import { MemoryFileSystem } from '../../src/log/memory-fs.js';
import { Prng } from '../../src/util/prng.js';
import { wrapFileSystem } from '../helpers/wrap-fs.js';
import { readAll, testSeed, value, withSeed } from './helpers.js';

const options = (fs: MemoryFileSystem) => ({ fs, segment: { maxStoreBytes: 32 + 6 * 60, maxIndexBytes: 32 + 8 * 24 } });

/** Fires batches without waiting, lets the writer run a random while, then cuts the power. */
async function crashRound(log: Log, fs: MemoryFileSystem, rng: Prng, garble: boolean, submitted: Map<number, Buffer>, acked: Set<number>): Promise<MemoryFileSystem> {
  let offset = log.nextOffset();
  for (let b = 0, batches = 1 + rng.int(12); b < batches; b++) {
    const values = Array.from({ length: 1 + rng.int(4) }, () => value(rng.int(1_000_000), 1 + rng.int(40)));
    const first = offset;
    values.forEach((v, i) => submitted.set(first + i, v));
    offset += values.length;
    log.appendBatch(values.map((v) => ({ value: v, term: 1 }))).then(
      () => values.forEach((_, i) => acked.add(first + i)),
      () => undefined,
    );
  }
  for (let i = 0, turns = rng.int(300); i < turns; i++) await Promise.resolve();
  return fs.powerLoss(rng, { garble });
}

describe('power loss (MemoryFileSystem)', () => {
  it.each([false, true])('keeps every acknowledged record, shows nothing half-written (garble=%s)', async (garble) => {
    const seed = testSeed(`power-loss garble=${garble}`);
    for (let run = 0; run < 60; run++) {
      await withSeed(seed + run, async () => {
        const rng = new Prng(seed + run);
        let fs = new MemoryFileSystem();
        const submitted = new Map<number, Buffer>();
        const acked = new Set<number>();
        for (let cycle = 0; cycle < 3; cycle++) {
          const log = await Log.open('/p', options(fs));
          // What survived earlier cycles defines the offsets from here on.
          for (const o of [...submitted.keys()]) if (o > log.highestOffset()) submitted.delete(o);
          fs = await crashRound(log, fs, rng, garble, submitted, acked);
          const after = await Log.open('/p', options(fs));
          const records = await readAll(after);
          for (const r of records) expect(r.value).toBe(submitted.get(r.offset)?.toString('hex'));
          const present = new Set(records.map((r) => r.offset));
          for (const o of acked) expect(present.has(o), `acknowledged offset ${o} lost`).toBe(true);
          expect(await after.append({ value: value(7), term: 1 })).toBe(after.lowestOffset() + records.length - 1 + 1);
          submitted.set(after.highestOffset(), value(7));
          acked.add(after.highestOffset());
          await after.close();
        }
      });
    }
  });

  it('a power loss during a group of more than 4096 records leaves a log that opens, with every acknowledged record (garble)', async () => {
    // The index file gets entries between groups, only for records already synced: were a group's
    // entries written before its store sync, a garbled record followed by an intact one the index
    // file knows would make recovery refuse the segment as corrupt.
    const seed = testSeed('power-loss big group');
    for (let run = 0; run < 30; run++) {
      await withSeed(seed + run, async () => {
        const rng = new Prng(seed + run);
        const mem = new MemoryFileSystem();
        const crash: { armed: boolean; rebooted?: MemoryFileSystem } = { armed: false };
        const fs = wrapFileSystem(mem, {
          handle: (h) =>
            h.path.endsWith('.store')
              ? {
                  datasync: () => {
                    if (crash.armed) crash.rebooted ??= mem.powerLoss(rng, { garble: true });
                    return h.datasync();
                  },
                }
              : {},
        });
        const log = await Log.open('/p', { fs, inlineSyncMaxMs: 0 });
        const values = Array.from({ length: 11_000 }, (_, i) => value(i, 3));
        const acked = 20 + 5000;
        await log.appendBatch(values.slice(0, 20).map((v) => ({ value: v, term: 1 })));
        await log.appendBatch(values.slice(20, acked).map((v) => ({ value: v, term: 1 })));
        crash.armed = true;
        // The power goes during this group's sync: the group fails (EIO on the dead machine).
        await log.appendBatch(values.slice(acked).map((v) => ({ value: v, term: 1 }))).catch(() => undefined);
        const after = await Log.open('/p', { fs: crash.rebooted ?? mem.powerLoss(rng, { garble: true }) });
        const records = await readAll(after);
        expect(records.length).toBeGreaterThanOrEqual(acked);
        for (const r of records) expect(r.value).toBe(values[r.offset]?.toString('hex'));
        await after.close();
      });
    }
  });

  it('loses a created segment whose directory entry was never synced, and nothing else', async () => {
    const fs = new MemoryFileSystem();
    const log = await Log.open('/p', options(fs));
    await log.appendBatch(Array.from({ length: 3 }, (_, i) => ({ value: value(i) })));
    const rebooted = fs.powerLoss(new Prng(1));
    const again = await Log.open('/p', options(rebooted));
    expect((await readAll(again)).map((r) => r.offset)).toEqual([0, 1, 2]);
    await again.close();
  });
});
