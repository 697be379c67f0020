import type { FileHandle, FileSystem, OpenMode } from '../../src/log/index.js';

export interface FileSystemHooks {
  /** Replacements for an opened file's methods; receives the inner handle. */
  handle?: (h: FileHandle) => Partial<Omit<FileHandle, 'path'>>;
  /** Replacements for the file system's own methods (open excepted: see `beforeOpen`). */
  fs?: Partial<Omit<FileSystem, 'open'>>;
  /** Runs before every open (and may throw instead). */
  beforeOpen?: (path: string, mode: OpenMode) => void;
}

/**
 * A FileSystem that delegates every call to `inner` except those `hooks` replace: for tests that
 * put latency, crashes or counters around the memory twin.
 */
export function wrapFileSystem(inner: FileSystem, hooks: FileSystemHooks): FileSystem {
  const wrap = (h: FileHandle): FileHandle => ({
    path: h.path,
    read: (...a) => h.read(...a),
    readSync: (...a) => h.readSync(...a),
    write: (...a) => h.write(...a),
    writeSync: (...a) => h.writeSync(...a),
    truncate: (n) => h.truncate(n),
    datasync: () => h.datasync(),
    datasyncSync: () => h.datasyncSync(),
    sync: () => h.sync(),
    sizeBytes: () => h.sizeBytes(),
    close: () => h.close(),
    ...hooks.handle?.(h),
  });
  return {
    open: async (path: string, mode: OpenMode) => {
      hooks.beforeOpen?.(path, mode);
      return wrap(await inner.open(path, mode));
    },
    readdir: (d) => inner.readdir(d),
    mkdirp: (d) => inner.mkdirp(d),
    unlink: (p) => inner.unlink(p),
    rename: (a, b) => inner.rename(a, b),
    rmrf: (p) => inner.rmrf(p),
    fsyncDir: (d) => inner.fsyncDir(d),
    exists: (p) => inner.exists(p),
    ...hooks.fs,
  };
}
