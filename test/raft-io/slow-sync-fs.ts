import type { FileHandle, FileSystem, OpenMode } from '../../src/log/index.js';

/**
 * Wraps a FileSystem so that every fsync takes a little real time, as on a disk: this opens the
 * window in which a power loss finds data written but not yet synced.
 */
export function withSyncLatency(inner: FileSystem, maxDelayMs: number, random: () => number): FileSystem {
  const delay = (): Promise<void> => new Promise((r) => setTimeout(r, random() * maxDelayMs));
  const wrap = (h: FileHandle): FileHandle => ({
    path: h.path,
    read: (...a) => h.read(...a),
    readSync: (...a) => h.readSync(...a),
    write: (...a) => h.write(...a),
    writeSync: (...a) => h.writeSync(...a),
    truncate: (n) => h.truncate(n),
    datasync: async () => {
      await delay();
      await h.datasync();
    },
    // No delay possible on the calling thread; the delayed async flushes (>= 1 ms, the timer's
    // resolution) keep the log's inline-sync gate shut, so this is rarely taken.
    datasyncSync: () => h.datasyncSync(),
    sync: async () => {
      await delay();
      await h.sync();
    },
    sizeBytes: () => h.sizeBytes(),
    close: () => h.close(),
  });
  return {
    open: async (path: string, mode: OpenMode) => wrap(await inner.open(path, mode)),
    readdir: (d) => inner.readdir(d),
    mkdirp: (d) => inner.mkdirp(d),
    unlink: (p) => inner.unlink(p),
    rename: (a, b) => inner.rename(a, b),
    rmrf: (p) => inner.rmrf(p),
    fsyncDir: async (d) => {
      await delay();
      await inner.fsyncDir(d);
    },
    exists: (p) => inner.exists(p),
  };
}
