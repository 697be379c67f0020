import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetOutOfRangeError } from '../../src/errors.js';
import type { FileSystem } from '../../src/log/fs.js';
import { Log } from '../../src/log/log.js';
import { MemoryFileSystem } from '../../src/log/memory-fs.js';
import { NodeFileSystem } from '../../src/log/node-fs.js';
import { makeTempDir, removeTempDir, testSeed } from './helpers.js';

type Cmd =
  | { t: 'append'; size: number; bump: boolean }
  | { t: 'batch'; sizes: number[] }
  | { t: 'read'; pick: number }
  | { t: 'range'; pick: number; max: number; bytes: number }
  | { t: 'truncate'; pick: number }
  | { t: 'suffix'; pick: number }
  | { t: 'reopen' };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('append' as const), size: fc.nat(60), bump: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('batch' as const), sizes: fc.array(fc.nat(60), { minLength: 1, maxLength: 6 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('read' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('range' as const), pick: fc.nat(), max: fc.integer({ min: 1, max: 20 }), bytes: fc.nat(300) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('truncate' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('suffix' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reopen' as const) }) },
);

interface Rec {
  term: number;
  value: Buffer;
}

/** Runs commands against the log and a plain array model, comparing at every step. */
async function check(fs: FileSystem, dir: string, cmds: Cmd[]): Promise<void> {
  const opts = { fs, segment: { maxStoreBytes: 200, maxIndexBytes: 32 + 5 * 24, initialOffset: 3 } };
  let log = await Log.open(dir, opts);
  let lowest = 3;
  const model: Rec[] = []; // model[i] is offset lowestEver + i; entries below `lowest` are gone
  let term = 1;
  let counter = 0;
  const at = (o: number): Rec => model[o - 3] as Rec;
  const next = (): number => 3 + model.length;
  const mk = (size: number): Rec => ({ term, value: Buffer.alloc(size, ++counter % 256) });
  try {
    for (const c of cmds) {
      switch (c.t) {
        case 'append': {
          if (c.bump) term++;
          const r = mk(c.size);
          expect(await log.append(r)).toBe(next());
          model.push(r);
          break;
        }
        case 'batch': {
          const rs = c.sizes.map(mk);
          expect(await log.appendBatch(rs)).toBe(next());
          model.push(...rs);
          break;
        }
        case 'read': {
          const o = lowest + (c.pick % (next() - lowest + 1));
          if (o === next()) await expect(log.read(o)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
          else expect((await log.read(o)).value.equals(at(o).value)).toBe(true);
          break;
        }
        case 'range': {
          const o = lowest + (c.pick % (next() - lowest + 1));
          const got = await log.readRange(o, c.max, c.bytes);
          if (o < next()) expect(got.length).toBeGreaterThan(0);
          expect(got.length).toBeLessThanOrEqual(c.max);
          got.forEach((r, i) => {
            expect(r.offset).toBe(o + i);
            expect(r.term).toBe(at(o + i).term);
            expect(r.value.equals(at(o + i).value)).toBe(true);
          });
          break;
        }
        case 'truncate': {
          const target = lowest + (c.pick % (next() - lowest + 2));
          await log.truncate(target);
          const now = log.lowestOffset();
          expect(now).toBeGreaterThanOrEqual(lowest);
          expect(now).toBeLessThanOrEqual(Math.max(lowest, target));
          lowest = now;
          break;
        }
        case 'suffix': {
          const from = lowest + (c.pick % (next() - lowest + 1));
          await log.truncateSuffix(from);
          model.length = from - 3;
          break;
        }
        case 'reopen':
          await log.close();
          log = await Log.open(dir, opts);
          break;
      }
      expect(log.lowestOffset()).toBe(lowest);
      expect(log.highestOffset()).toBe(next() - 1);
    }
    const all: Buffer[] = [];
    for await (const batch of log.reader(lowest, { maxBatchRecords: 7, maxBatchBytes: 100 })) all.push(...batch.map((r) => r.value));
    expect(all.length).toBe(next() - lowest);
    all.forEach((v, i) => expect(v.equals(at(lowest + i).value)).toBe(true));
  } finally {
    await log.close();
  }
}

describe('log vs model (fast-check)', () => {
  it('MemoryFileSystem, 200 runs', async () => {
    const seed = testSeed('log property memory');
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { maxLength: 60 }), (cmds) => check(new MemoryFileSystem(), '/prop', cmds)),
      { numRuns: 200, seed },
    );
  });

  describe('real files', () => {
    let root: string;
    beforeAll(async () => {
      root = await makeTempDir();
    });
    afterAll(async () => {
      await removeTempDir(root);
    });
    it('NodeFileSystem, 25 runs', async () => {
      const seed = testSeed('log property node');
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(cmd, { maxLength: 40 }), (cmds) => check(new NodeFileSystem(), `${root}/run-${run++}`, cmds)),
        { numRuns: 25, seed },
      );
    });
  });
});
