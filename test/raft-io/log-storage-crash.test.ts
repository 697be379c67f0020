import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, type FileSystem } from '../../src/log/index.js';
import { silentLogger } from '../../src/logger.js';
import { EntryType, type Entry } from '../../src/raft/core/types.js';
import { LogStorage } from '../../src/raft/log-storage.js';
import { encodeSnapshotData } from '../../src/raft/start-meta.js';
import { Prng } from '../../src/util/prng.js';
import { wrapFileSystem } from '../helpers/wrap-fs.js';

class Crash extends Error {}

/** Lets `budget` mutating file operations through, then "loses power" before the next one. */
function crashAfter(inner: FileSystem, budget: { left: number }): FileSystem {
  const step = (): void => {
    if (budget.left-- <= 0) throw new Crash('power lost');
  };
  return wrapFileSystem(inner, {
    beforeOpen: (_path, mode) => {
      if (mode === 'create') step();
    },
    handle: (h) => ({
      write: async (...a) => (step(), h.write(...a)),
      writeSync: (...a) => (step(), h.writeSync(...a)),
      truncate: async (n) => (step(), h.truncate(n)),
      datasync: async () => (step(), h.datasync()),
      datasyncSync: () => (step(), h.datasyncSync()),
      sync: async () => (step(), h.sync()),
    }),
    fs: {
      unlink: async (p) => (step(), inner.unlink(p)),
      rename: async (a, b) => (step(), inner.rename(a, b)),
      rmrf: async (p) => (step(), inner.rmrf(p)),
      fsyncDir: async (d) => (step(), inner.fsyncDir(d)),
    },
  });
}

const data = (index: number, term: number): Entry => ({ index, term, type: EntryType.Data, data: Buffer.from(`d${index}@${term}`) });
const noop = (index: number, term: number): Entry => ({ index, term, type: EntryType.Noop, data: Buffer.alloc(0) });

/** Every user offset -> (index, value) the storage serves, through its translator and log. */
function view(s: LogStorage): Map<number, string> {
  const out = new Map<number, string>();
  const t = s.translator;
  for (let i = t.firstIndex(); i < t.nextIndex(); i++) {
    if (t.isControl(i)) continue;
    const [rec] = s.log.readRangeSync(i, i + 1, 1 << 20);
    out.set(t.offsetOf(i), rec?.value.toString() ?? '?');
    expect(t.indexOf(t.offsetOf(i))).toBe(i);
  }
  return out;
}

/**
 * ARCHITECTURE 3a rules 7, 8, 9: truncation across a control entry and an InstallSnapshot, with a
 * power loss at every single file operation. After each crash the reopened storage must hold either
 * the old or the new state, and its offset translation must match the entry types it holds.
 */
describe('LogStorage: crash at every step of truncation and snapshot install', () => {
  const steps = async (s: LogStorage): Promise<void> => {
    // The suffix from 3 (a noop) on is replaced by entries of term 3: offsets move.
    await s.append([noop(3, 3), data(4, 3)]);
    await s.setHardState({ term: 3, vote: 'b', commit: 2 });
    await s.installSnapshot({ index: 10, term: 4, config: { voters: ['a', 'b', 'c'], learners: [] }, configIndex: 1, data: encodeSnapshotData({ nextOffset: 7 }) });
    await s.append([data(11, 4), noop(12, 5), data(13, 5)]);
  };

  it('keeps offsets consistent with the stored entries whatever operation the crash interrupts', async () => {
    // Count the operations of a crash-free run.
    const counter = { left: Number.MAX_SAFE_INTEGER };
    const base = async (fs: FileSystem): Promise<LogStorage> => {
      const s = await LogStorage.open({ dir: '/n', fs, logger: silentLogger(), logOptions: { segment: { maxStoreBytes: 256, maxIndexBytes: 256 } } });
      return s;
    };
    const prepare = async (disk: MemoryFileSystem): Promise<void> => {
      const s = await base(disk);
      await s.initialize(0, { voters: ['a', 'b', 'c'], learners: [] });
      await s.append([data(2, 1), noop(3, 2), data(4, 2), data(5, 2)]);
      await s.close();
    };
    const probe = new MemoryFileSystem();
    await prepare(probe);
    const full = crashAfter(probe, counter);
    const s0 = await base(full);
    const before = counter.left;
    await steps(s0);
    const total = before - counter.left;
    await s0.close();
    expect(total).toBeGreaterThan(10);

    for (let k = 0; k <= total; k++) {
      const disk = new MemoryFileSystem();
      await prepare(disk);
      const budget = { left: Number.MAX_SAFE_INTEGER };
      const s = await base(crashAfter(disk, budget));
      budget.left = k;
      await steps(s).catch((err: unknown) => {
        if (!(err instanceof Crash) && !String(err).includes('power lost')) throw err;
      });
      const rebooted = disk.powerLoss(new Prng(k), { garble: true });
      const r = await base(rebooted);
      const got = view(r);
      const first = r.firstIndex();
      if (first === 1) {
        // Before the snapshot: offset 0 is the entry 2 of term 1; then either the old suffix or the new one.
        expect(got.get(0), `crash at step ${k}`).toBe('d2@1');
        const next = got.get(1);
        if (next !== undefined) expect(['d4@2', 'd4@3'], `crash at step ${k}`).toContain(next);
      } else {
        // After the snapshot: the log starts after 10 and user offsets continue from 7.
        expect(first, `crash at step ${k}`).toBe(11);
        expect(r.translator.firstOffset()).toBe(7);
        for (const [off, v] of got) expect(['d11@4', 'd13@5'][off - 7], `crash at step ${k}`).toBe(v);
      }
      await r.close();
    }
  });
});
