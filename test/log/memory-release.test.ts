import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Log } from '../../src/log/log.js';
import { MemoryFileSystem } from '../../src/log/memory-fs.js';
import { wrapFileSystem } from '../helpers/wrap-fs.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Lets the job that created the WeakRefs end: until then their targets are kept alive. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('memory the log releases', () => {
  it('holds no appended value once its append resolved (the writer queue lets go of each op it takes)', async () => {
    const log = await Log.open('/l', { fs: new MemoryFileSystem(), sync: { mode: 'never' } });
    const refs: WeakRef<Buffer>[] = [];
    // Batches one after another (the writer's queue drains and refills) and a burst of
    // concurrent ones (several ops taken as one group).
    const batch = (b: number): Promise<number> => {
      const values = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1024, (b * 20 + i) % 251));
      for (const v of values) refs.push(new WeakRef(v));
      return log.appendBatch(values.map((value) => ({ value })));
    };
    for (let b = 0; b < 10; b++) await batch(b);
    await Promise.all(Array.from({ length: 10 }, (_, i) => batch(10 + i)));
    await nextTurn();
    gc();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
    // The records themselves are in the log.
    expect(log.nextOffset()).toBe(400);
    expect((await log.read(399)).value[0]).toBe(399 % 251);
    await log.close();
  });

  it('writes an append larger than maxGroupBytes in chunks through the one reused frame buffer, then syncs once', async () => {
    const maxGroupBytes = 64 * 1024;
    const writes: { bytes: number; memory: ArrayBufferLike }[] = [];
    let syncs = 0;
    const fs = wrapFileSystem(new MemoryFileSystem(), {
      handle: (h) =>
        h.path.endsWith('.store')
          ? {
              write: (buf, offset, length, position) => {
                writes.push({ bytes: length, memory: buf.buffer });
                return h.write(buf, offset, length, position);
              },
              writeSync: (buf, offset, length, position) => {
                writes.push({ bytes: length, memory: buf.buffer });
                h.writeSync(buf, offset, length, position);
              },
              datasync: () => {
                syncs++;
                return h.datasync();
              },
            }
          : {},
    });
    const log = await Log.open('/l', { fs, maxGroupBytes, inlineSyncMaxMs: 0 });
    // One op of about 5 x maxGroupBytes, 62 records per chunk (a Raft follower appends a whole Ready as one op).
    const values = Array.from({ length: 300 }, (_, i) => Buffer.alloc(1024, i % 251));
    writes.length = 0;
    syncs = 0;
    expect(await log.appendBatch(values.map((value) => ({ value })))).toBe(0);
    expect(writes.length).toBeGreaterThanOrEqual(5);
    for (const w of writes) expect(w.bytes).toBeLessThanOrEqual(maxGroupBytes);
    expect(new Set(writes.map((w) => w.memory)).size).toBe(1);
    expect(syncs).toBe(1);
    for (let i = 0; i < values.length; i++) expect((await log.read(i)).value).toEqual(values[i]);
    await log.close();
  });
});
