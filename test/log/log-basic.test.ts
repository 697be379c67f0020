import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClosedError, InvalidArgumentError, OffsetOutOfRangeError, RecordTooLargeError } from '../../src/errors.js';
import { Log } from '../../src/log/log.js';
import { MemoryFileSystem } from '../../src/log/memory-fs.js';
import { NodeFileSystem } from '../../src/log/node-fs.js';
import type { FileSystem } from '../../src/log/fs.js';
import { EntryType } from '../../src/raft/core/types.js';
import { makeTempDir, readAll, removeTempDir, value } from './helpers.js';

const backends: { name: string; make: () => Promise<{ fs: FileSystem; dir: string; cleanup: () => Promise<void> }> }[] = [
  { name: 'memory', make: () => Promise.resolve({ fs: new MemoryFileSystem(), dir: '/data/log', cleanup: () => Promise.resolve() }) },
  {
    name: 'node',
    make: async () => {
      const dir = await makeTempDir();
      return { fs: new NodeFileSystem(), dir, cleanup: () => removeTempDir(dir) };
    },
  },
];

// Tiny limits: 16-byte values frame to 48 bytes; the table forces rolls by store and by index size.
const cases = [
  { name: 'roll by store size', segment: { maxStoreBytes: 32 + 3 * 48, maxIndexBytes: 1024, initialOffset: 0 }, perSegment: 3 },
  { name: 'roll by index size', segment: { maxStoreBytes: 1 << 20, maxIndexBytes: 32 + 2 * 24, initialOffset: 0 }, perSegment: 2 },
  { name: 'initial offset 16', segment: { maxStoreBytes: 32 + 3 * 48, maxIndexBytes: 1024, initialOffset: 16 }, perSegment: 3 },
];

describe.each(backends)('Log over $name fs', (backend) => {
  let env: Awaited<ReturnType<(typeof backends)[number]['make']>>;
  beforeEach(async () => {
    env = await backend.make();
  });
  afterEach(async () => {
    await env.cleanup();
  });

  describe.each(cases)('$name', ({ segment, perSegment }) => {
    const base = segment.initialOffset;

    it('appends then reads, rolling segments', async () => {
      const log = await Log.open(env.dir, { fs: env.fs, segment });
      for (let i = 0; i < 10; i++) expect(await log.append({ value: value(i), term: 1 })).toBe(base + i);
      expect(log.segmentCount()).toBe(Math.ceil(10 / perSegment));
      for (let i = 0; i < 10; i++) {
        const r = await log.read(base + i);
        expect(r).toMatchObject({ offset: base + i, term: 1, type: EntryType.Data });
        expect(r.value.equals(value(i))).toBe(true);
      }
      expect(log.lowestOffset()).toBe(base);
      expect(log.highestOffset()).toBe(base + 9);
      await log.close();
    });

    it('reopens existing segments and continues at the right offset', async () => {
      const log = await Log.open(env.dir, { fs: env.fs, segment });
      await log.appendBatch([0, 1, 2, 3, 4, 5, 6].map((i) => ({ value: value(i), term: 2 })));
      await log.close();
      const again = await Log.open(env.dir, { fs: env.fs, segment: { ...segment, initialOffset: 999 } });
      expect(again.lowestOffset()).toBe(base);
      expect(again.highestOffset()).toBe(base + 6);
      expect(await again.append({ value: value(7), term: 2 })).toBe(base + 7);
      expect((await readAll(again)).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => base + i));
      await again.close();
    });

    it('refuses reads out of range with a typed error', async () => {
      const log = await Log.open(env.dir, { fs: env.fs, segment });
      await expect(log.read(base)).rejects.toMatchObject({ reason: 'not-yet' });
      await log.append({ value: value(0) });
      await expect(log.read(base + 1)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
      expect(await log.readRange(base + 1, 10, 1000)).toEqual([]);
      await expect(log.readRange(base + 2, 10, 1000)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
      if (base > 0) await expect(log.read(base - 1)).rejects.toMatchObject({ reason: 'gone' });
      await log.close();
    });

    it('truncate(lowest) removes only whole old segments', async () => {
      const log = await Log.open(env.dir, { fs: env.fs, segment });
      await log.appendBatch(Array.from({ length: 10 }, (_, i) => ({ value: value(i) })));
      const before = log.segmentCount();
      await log.truncate(base + perSegment + 1);
      expect(log.segmentCount()).toBe(before - 1);
      expect(log.lowestOffset()).toBe(base + perSegment);
      await expect(log.read(base)).rejects.toMatchObject({ reason: 'gone' });
      expect((await log.read(base + perSegment)).value.equals(value(perSegment))).toBe(true);
      await log.truncate(base + 1000);
      expect(log.segmentCount()).toBe(1);
      expect(log.highestOffset()).toBe(base + 9);
      await log.close();
      const again = await Log.open(env.dir, { fs: env.fs, segment });
      expect(again.segmentCount()).toBe(1);
      await again.close();
    });

    it('reset and remove', async () => {
      const log = await Log.open(env.dir, { fs: env.fs, segment });
      await log.appendBatch(Array.from({ length: 8 }, (_, i) => ({ value: value(i) })));
      await log.reset(100);
      expect(log.lowestOffset()).toBe(100);
      expect(log.highestOffset()).toBe(99);
      expect(await log.append({ value: value(1) })).toBe(100);
      await log.close();
      const again = await Log.open(env.dir, { fs: env.fs, segment });
      expect(again.lowestOffset()).toBe(100);
      await again.remove();
      expect(await env.fs.exists(env.dir)).toBe(false);
    });
  });

  it('truncateSuffix drops the suffix durably across segments', async () => {
    const segment = { maxStoreBytes: 32 + 3 * 48, maxIndexBytes: 1024, initialOffset: 0 };
    const log = await Log.open(env.dir, { fs: env.fs, segment });
    await log.appendBatch(Array.from({ length: 10 }, (_, i) => ({ value: value(i), term: 1 })));
    await log.truncateSuffix(4);
    expect(log.highestOffset()).toBe(3);
    await expect(log.read(4)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    expect(await log.append({ value: value(40), term: 2 })).toBe(4);
    await log.truncateSuffix(3);
    await log.close();
    const again = await Log.open(env.dir, { fs: env.fs, segment });
    expect((await readAll(again)).map((r) => r.offset)).toEqual([0, 1, 2]);
    await expect(again.truncateSuffix(-1)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await again.close();
  });

  it('serves the synchronous Raft storage view from memory', async () => {
    const log = await Log.open(env.dir, { fs: env.fs });
    await log.appendBatch([
      { value: value(0), term: 1, type: EntryType.Noop },
      { value: value(1), term: 1 },
      { value: value(2), term: 3, type: EntryType.Config },
    ]);
    expect([0, 1, 2].map((o) => log.termAt(o))).toEqual([1, 1, 3]);
    expect([0, 1, 2].map((o) => log.typeAt(o))).toEqual([EntryType.Noop, EntryType.Data, EntryType.Config]);
    expect(log.readRangeSync(0, 3, 1 << 20).map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(log.readRangeSync(1, 3, 1).map((r) => r.offset)).toEqual([1]);
    expect(log.readRangeSync(3, 3, 1)).toEqual([]);
    expect(() => log.termAt(3)).toThrow(OffsetOutOfRangeError);
    expect(() => log.readRangeSync(0, 4, 100)).toThrow(OffsetOutOfRangeError);
    await log.close();
  });

  it('refuses bad input and leaves the log unchanged', async () => {
    const log = await Log.open(env.dir, { fs: env.fs, maxRecordBytes: 64 });
    await log.append({ value: value(0) });
    await expect(log.append({ value: Buffer.alloc(65) })).rejects.toBeInstanceOf(RecordTooLargeError);
    await expect(log.appendBatch([{ value: value(1) }, { value: Buffer.alloc(65) }])).rejects.toBeInstanceOf(RecordTooLargeError);
    await expect(log.appendBatch([])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(log.append({ value: value(1), term: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(log.highestOffset()).toBe(0);
    expect(await log.append({ value: value(1) })).toBe(1);
    await log.close();
    await log.close();
    await expect(log.append({ value: value(2) })).rejects.toBeInstanceOf(ClosedError);
    await expect(log.read(0)).rejects.toBeInstanceOf(ClosedError);
  });

  it('ignores stray files on open', async () => {
    const log = await Log.open(env.dir, { fs: env.fs });
    await log.append({ value: value(0) });
    await log.close();
    for (const name of ['notes.txt', '123.store', '00000000000000000099.index', 'x.index.tmp']) {
      const f = await env.fs.open(`${env.dir}/${name}`, 'create');
      await f.write(Buffer.from('junk'), 0, 4, 0);
      await f.close();
    }
    const again = await Log.open(env.dir, { fs: env.fs });
    expect((await readAll(again)).length).toBe(1);
    expect(await again.append({ value: value(1) })).toBe(1);
    await again.close();
  });
});
