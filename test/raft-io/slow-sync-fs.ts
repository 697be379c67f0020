import type { FileSystem } from '../../src/log/index.js';
import { wrapFileSystem } from '../helpers/wrap-fs.js';

/**
 * Wraps a FileSystem so that every fsync takes a little real time, as on a disk: this opens the
 * window in which a power loss finds data written but not yet synced.
 */
export function withSyncLatency(inner: FileSystem, maxDelayMs: number, random: () => number): FileSystem {
  const delay = (): Promise<void> => new Promise((r) => setTimeout(r, random() * maxDelayMs));
  return wrapFileSystem(inner, {
    handle: (h) => ({
      datasync: async () => {
        await delay();
        await h.datasync();
      },
      // datasyncSync (the log's inline flush) is passed through undelayed: a delay cannot be
      // awaited on the calling thread. The delayed flushes above (timers: >= 1 ms) keep the
      // log's inline flush gate mostly shut, so it is rarely taken.
      sync: async () => {
        await delay();
        await h.sync();
      },
    }),
    fs: {
      fsyncDir: async (d) => {
        await delay();
        await inner.fsyncDir(d);
      },
    },
  });
}
