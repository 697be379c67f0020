import { crc32c as crc32cOf } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../src/errors.js';
import { segmentFileName } from '../../src/log/file-header.js';
import { Log } from '../../src/log/log.js';
import { MemoryFileSystem } from '../../src/log/memory-fs.js';
import { RECORD_HEADER_BYTES } from '../../src/log/record.js';
import { Scratch } from '../../src/util/scratch.js';
import { value } from './helpers.js';

// The fast paths of docs/format.md: group commit that fills its groups, the reader's read-ahead,
// in-place decoding that still checks every record, and the writer's reused frame buffer.

describe('group commit fills its groups', () => {
  it('appends issued in one turn share one fsync, however deep their callers', async () => {
    let fsyncs = 0;
    const log = await Log.open('/l', { fs: new MemoryFileSystem(), onFsync: () => fsyncs++ });
    const viaWrapper = async (i: number): Promise<number> => {
      await Promise.resolve();
      return log.append({ value: value(i) });
    };
    const offsets = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? log.append({ value: value(i) }) : viaWrapper(i))));
    expect([...offsets].sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(fsyncs).toBe(1);
    await log.close();
  });

  it('callers that append again as soon as they resolve form one group per round (not 1 + n-1)', async () => {
    let fsyncs = 0;
    const log = await Log.open('/l', { fs: new MemoryFileSystem(), onFsync: () => fsyncs++ });
    const rounds = 5;
    const callers = 64;
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        for (let r = 0; r < rounds; r++) await log.append({ value: value(r * callers + c) });
      }),
    );
    expect(fsyncs).toBe(rounds);
    expect(log.highestOffset()).toBe(rounds * callers - 1);
    await log.close();
  });

  it('groups of varied sizes, one larger than maxGroupBytes, read back intact (reused frame buffer)', async () => {
    const log = await Log.open('/l', { fs: new MemoryFileSystem(), maxGroupBytes: 4096 });
    const sizes = [10, 3000, 1, 9000, 200, 50];
    let next = 0;
    const want: string[] = [];
    for (const size of sizes) {
      const batch = Array.from({ length: 3 }, (_, k) => value(next + k, size + k));
      want.push(...batch.map((b) => b.toString('hex')));
      expect(await log.appendBatch(batch.map((v) => ({ value: v })))).toBe(next);
      next += batch.length;
    }
    const got = (await log.readRange(0, 1000, 1 << 20)).map((r) => r.value.toString('hex'));
    expect(got).toEqual(want);
    await log.close();
  });
});

describe('Scratch', () => {
  it('reuses its buffer up to the limit and hands out one-off buffers beyond it', () => {
    const s = new Scratch(1024);
    const a = s.take(100);
    const b = s.take(50);
    expect(a.length).toBe(100);
    expect(b.length).toBe(50);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset);
    const big = s.take(4096);
    expect(big.length).toBe(4096);
    expect(s.take(1024).buffer).not.toBe(big.buffer);
  });
});

describe('reader read-ahead', () => {
  it('never yields records a truncation removed after the read-ahead started', async () => {
    const log = await Log.open('/l', { fs: new MemoryFileSystem() });
    await log.appendBatch(Array.from({ length: 10 }, (_, i) => ({ value: value(i), term: 1 })));
    const it = log.reader(0, { maxBatchRecords: 3 });
    const first = await it.next();
    expect(first.done).toBe(false);
    expect(first.value?.map((r) => r.offset)).toEqual([0, 1, 2]);
    // The read-ahead of [3, 6) is in flight or done; replace those records.
    await log.truncateSuffix(3);
    await log.appendBatch(Array.from({ length: 4 }, (_, i) => ({ value: value(100 + i), term: 2 })));
    const rest: { offset: number; term: number; value: string }[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) {
      for (const rec of r.value) rest.push({ offset: rec.offset, term: rec.term, value: rec.value.toString('hex') });
    }
    expect(rest).toEqual(Array.from({ length: 4 }, (_, i) => ({ offset: 3 + i, term: 2, value: value(100 + i).toString('hex') })));
    await log.close();
  });

  it('stops at the end as it is when each batch is read, and a stopped reader leaks nothing', async () => {
    const log = await Log.open('/l', { fs: new MemoryFileSystem() });
    await log.appendBatch(Array.from({ length: 7 }, (_, i) => ({ value: value(i) })));
    const seen: number[] = [];
    for await (const batch of log.reader(0, { maxBatchRecords: 2 })) {
      seen.push(...batch.map((r) => r.offset));
      if (seen.length === 4) await log.append({ value: value(7) });
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for await (const batch of log.reader(0, { maxBatchRecords: 2 })) {
      expect(batch.length).toBe(2);
      break; // the read-ahead still in flight must not surface as an unhandled rejection
    }
    await log.close();
  });
});

describe('in-place decoding still checks every record', () => {
  const SIZE = 40;
  // More records than recovery re-verifies on open (256), so damage early on is found by reads.
  const COUNT = 600;

  async function damagedLog(damage: (store: Buffer, at: number) => void): Promise<{ log: Log; at: number; file: string }> {
    const fs = new MemoryFileSystem();
    const log = await Log.open('/l', { fs });
    await log.appendBatch(Array.from({ length: COUNT }, (_, i) => ({ value: value(i, SIZE), term: 1 })));
    await log.close();
    const file = `/l/${segmentFileName(0, 'store')}`;
    const store = fs.contentOf(file);
    const at = 32 + 5 * (RECORD_HEADER_BYTES + SIZE); // record 5
    damage(store, at);
    fs.setContent(file, store);
    return { log: await Log.open('/l', { fs }), at, file };
  }

  const cases: [string, (store: Buffer, at: number) => void][] = [
    ['a flipped value bit (checksum)', (s, at) => void (s[at + RECORD_HEADER_BYTES + 3] = (s[at + RECORD_HEADER_BYTES + 3] ?? 0) ^ 1)],
    ['a different term with a recomputed checksum (index mismatch)', (s, at) => rewriteTerm(s, at, 7)],
  ];

  it.each(cases)('%s is a CorruptionError naming the file and position, on every read path', async (_name, damage) => {
    const { log, at, file } = await damagedLog(damage);
    const expected = { file, position: at };
    await expect(log.read(5)).rejects.toMatchObject(expected);
    await expect(log.read(5)).rejects.toBeInstanceOf(CorruptionError);
    expect(() => log.readRangeSync(0, 10, 1 << 20)).toThrow(CorruptionError);
    const viaReader = (async () => {
      for await (const batch of log.reader(0, { maxBatchRecords: 4 })) void batch;
    })();
    await expect(viaReader).rejects.toMatchObject(expected);
    expect((await log.read(4)).value.equals(value(4, SIZE))).toBe(true);
    expect((await log.read(6)).value.equals(value(6, SIZE))).toBe(true);
    await log.close();
  });
});

/** Sets the term of the record at `at` and recomputes its CRC, as a bug (not a torn write) would. */
function rewriteTerm(store: Buffer, at: number, term: number): void {
  store.writeUInt32BE(0, at + 16);
  store.writeUInt32BE(term, at + 20);
  const end = at + RECORD_HEADER_BYTES + store.readUInt32BE(at + 4);
  store.writeUInt32BE(crc32cOf(store.subarray(at + 4, end)), at);
}
