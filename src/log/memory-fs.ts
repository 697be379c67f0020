import * as posix from 'node:path/posix';
import type { FileHandle, FileSystem, OpenMode } from './fs.js';
import type { Prng } from '../util/prng.js';

/**
 * The in-memory twin of the file system, for tests. It remembers, per file, the content as of its
 * last fsync, and, per directory, the entries as of its last directory fsync. `powerLoss()` then
 * does what a power cut does and kill -9 does not: it keeps the synced bytes plus a random prefix
 * of the unsynced ones, and reverts directory changes (created, renamed, deleted files) that were
 * not made durable by fsyncDir.
 *
 * Simplifications: directories themselves (mkdirp) and rmrf are durable at once.
 *
 * Fault injection: `failNextSync()` makes the next fsync/fdatasync/fsyncDir fail (EIO by
 * default); `capacityBytes` makes writes fail with ENOSPC once the files hold that many bytes
 * (the part that fits is written first, as a real short write would).
 */
export class MemoryFileSystem implements FileSystem {
  private alive = true;

  constructor(private readonly disk: Disk = new Disk()) {}

  /** Total bytes the files may hold; writes beyond fail with ENOSPC. */
  get capacityBytes(): number {
    return this.disk.capacityBytes;
  }

  set capacityBytes(bytes: number) {
    this.disk.capacityBytes = bytes;
  }

  get stats(): DiskStats {
    return this.disk.stats;
  }

  /** False once a power loss has killed this view (every call then fails with EIO). */
  get isAlive(): boolean {
    return this.alive;
  }

  private get files(): Map<string, Inode> {
    this.checkAlive();
    return this.disk.files;
  }

  private get durable(): Map<string, Inode> {
    return this.disk.durable;
  }

  private get dirs(): Set<string> {
    this.checkAlive();
    return this.disk.dirs;
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    await Promise.resolve();
    const p = norm(path);
    let inode = this.files.get(p);
    if (mode === 'existing') {
      if (!inode) throw sysError('ENOENT', 'open', p);
    } else {
      if (!this.dirs.has(posix.dirname(p))) throw sysError('ENOENT', 'open', p);
      if (inode) inode.truncate(0);
      else {
        inode = new Inode();
        this.files.set(p, inode);
      }
    }
    return new MemoryFileHandle(this, p, inode);
  }

  async readdir(dir: string): Promise<string[]> {
    await Promise.resolve();
    const d = norm(dir);
    if (!this.dirs.has(d)) throw sysError('ENOENT', 'scandir', d);
    const names: string[] = [];
    for (const p of [...this.files.keys(), ...this.dirs]) {
      if (p !== d && posix.dirname(p) === d) names.push(posix.basename(p));
    }
    return names.sort();
  }

  async mkdirp(dir: string): Promise<void> {
    await Promise.resolve();
    for (let d = norm(dir); !this.dirs.has(d); d = posix.dirname(d)) this.dirs.add(d);
  }

  async unlink(path: string): Promise<void> {
    await Promise.resolve();
    const p = norm(path);
    if (!this.files.delete(p)) throw sysError('ENOENT', 'unlink', p);
  }

  async rename(from: string, to: string): Promise<void> {
    await Promise.resolve();
    const f = norm(from);
    const inode = this.files.get(f);
    if (!inode) throw sysError('ENOENT', 'rename', f);
    this.files.delete(f);
    this.files.set(norm(to), inode);
  }

  async rmrf(path: string): Promise<void> {
    await Promise.resolve();
    const p = norm(path);
    const under = (q: string): boolean => q === p || q.startsWith(p + '/');
    for (const map of [this.files, this.durable]) {
      for (const q of [...map.keys()]) if (under(q)) map.delete(q);
    }
    for (const d of [...this.dirs]) if (under(d) && d !== '/') this.dirs.delete(d);
  }

  async fsyncDir(dir: string): Promise<void> {
    await Promise.resolve();
    this.takeSyncFailure('fsync', dir);
    this.stats.dirSyncs++;
    const d = norm(dir);
    this.checkAlive();
    for (const p of [...this.durable.keys()]) {
      if (posix.dirname(p) === d && !this.files.has(p)) this.durable.delete(p);
    }
    for (const [p, inode] of this.files) if (posix.dirname(p) === d) this.durable.set(p, inode);
  }

  async exists(path: string): Promise<boolean> {
    await Promise.resolve();
    const p = norm(path);
    return this.files.has(p) || this.dirs.has(p);
  }

  /** Makes the next `count` syncs (file or directory) fail with `code`. */
  failNextSync(code = 'EIO', count = 1): void {
    for (let i = 0; i < count; i++) this.disk.pendingSyncFailures.push(code);
  }

  /** Bytes held by all current files. */
  usedBytes(): number {
    let total = 0;
    for (const inode of new Set(this.files.values())) total += inode.length;
    return total;
  }

  /** A copy of a file's current content (tests). */
  contentOf(path: string): Buffer {
    const inode = this.files.get(norm(path));
    if (!inode) throw sysError('ENOENT', 'open', path);
    return Buffer.from(inode.content());
  }

  /** Replaces a file's content, durably (tests that corrupt files on purpose). */
  setContent(path: string, content: Buffer): void {
    const inode = this.files.get(norm(path));
    if (!inode) throw sysError('ENOENT', 'open', path);
    inode.truncate(0);
    inode.write(content, 0, content.length, 0);
    inode.markSynced();
  }

  /**
   * Simulates a power cut: every file keeps its synced content plus a random prefix of what was
   * written since (with `garble`, the last kept unsynced bytes are randomly damaged, as a torn
   * sector would be); directory entries revert to their last fsync. This view of the disk dies
   * with the process (every call and every open handle fails from now on); the returned view is
   * the disk after reboot.
   */
  powerLoss(rng: Prng, opts: { garble?: boolean } = {}): MemoryFileSystem {
    this.checkAlive();
    this.alive = false;
    const disk = this.disk;
    for (const inode of new Set(disk.durable.values())) inode.crash(rng, opts.garble ?? false);
    disk.files = new Map(disk.durable);
    return new MemoryFileSystem(disk);
  }

  /** @internal Called by handles before every sync. */
  takeSyncFailure(syscall: string, path: string): void {
    const code = this.disk.pendingSyncFailures.shift();
    if (code !== undefined) throw sysError(code, syscall, path);
  }

  /** @internal */
  checkAlive(): void {
    if (!this.alive) throw sysError('EIO', 'io', '(the machine lost power)');
  }
}

interface DiskStats {
  writes: number;
  datasyncs: number;
  fsyncs: number;
  dirSyncs: number;
}

/** The state that survives a power loss (in its crashed form). */
class Disk {
  /** Current namespace: path -> file. */
  files = new Map<string, Inode>();
  /** The namespace as of the last fsync of each directory. */
  durable = new Map<string, Inode>();
  readonly dirs = new Set<string>(['/']);
  pendingSyncFailures: string[] = [];
  capacityBytes = Number.POSITIVE_INFINITY;
  readonly stats: DiskStats = { writes: 0, datasyncs: 0, fsyncs: 0, dirSyncs: 0 };
}

/** One file's bytes: the current content and the content as of its last sync. */
class Inode {
  private data: Buffer = Buffer.alloc(0);
  length = 0;
  private synced: Buffer = Buffer.alloc(0);
  /** Lowest position changed since the last sync (Infinity when clean). */
  private dirtyFrom = Number.POSITIVE_INFINITY;

  content(): Buffer {
    return this.data.subarray(0, this.length);
  }

  write(buf: Buffer, offset: number, length: number, position: number): void {
    const end = position + length;
    if (end > this.data.length) {
      const grown = Buffer.alloc(Math.max(end, this.data.length * 2));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    if (position > this.length) this.data.fill(0, this.length, position);
    buf.copy(this.data, position, offset, offset + length);
    this.length = Math.max(this.length, end);
    this.dirtyFrom = Math.min(this.dirtyFrom, position);
  }

  truncate(size: number): void {
    if (size > this.length) {
      this.write(Buffer.alloc(size - this.length), 0, size - this.length, this.length);
      return;
    }
    this.data.fill(0, size, this.length);
    this.length = size;
    this.dirtyFrom = Math.min(this.dirtyFrom, size);
  }

  markSynced(): void {
    this.synced = Buffer.from(this.content());
    this.dirtyFrom = Number.POSITIVE_INFINITY;
  }

  /** Replaces the content with what a power cut would leave. */
  crash(rng: Prng, garble: boolean): void {
    const cur = this.content();
    const syn = this.synced;
    let next: Buffer;
    if (this.dirtyFrom === Number.POSITIVE_INFINITY) {
      next = Buffer.from(syn);
    } else {
      const from = Math.min(this.dirtyFrom, cur.length);
      const cut = from + rng.int(Math.max(cur.length, syn.length) - from + 1);
      const kept = cur.subarray(0, Math.min(cut, cur.length));
      const truncationLost = cur.length < syn.length && rng.chance(0.5);
      const keepSyncedTail = kept.length < syn.length && (cur.length >= syn.length || truncationLost);
      const tail = keepSyncedTail ? syn.subarray(kept.length) : Buffer.alloc(0);
      next = Buffer.concat([kept, tail]);
      if (garble && kept.length > from) garbleRange(next, Math.max(from, kept.length - 64), kept.length, rng);
    }
    this.data = next;
    this.length = next.length;
    this.markSynced();
  }
}

class MemoryFileHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly fs: MemoryFileSystem,
    readonly path: string,
    private readonly inode: Inode,
  ) {}

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    await Promise.resolve();
    return this.readSync(buf, offset, length, position);
  }

  readSync(buf: Buffer, offset: number, length: number, position: number): number {
    this.check('read');
    const content = this.inode.content();
    if (position >= content.length) return 0;
    return content.copy(buf, offset, position, Math.min(content.length, position + length));
  }

  async write(buf: Buffer, offset: number, length: number, position: number): Promise<void> {
    await Promise.resolve();
    this.writeSync(buf, offset, length, position);
  }

  writeSync(buf: Buffer, offset: number, length: number, position: number): void {
    this.check('write');
    this.fs.stats.writes++;
    const growth = Math.max(0, position + length - this.inode.length);
    const room = this.fs.capacityBytes - this.fs.usedBytes();
    if (growth > room) {
      const fits = Math.max(0, this.inode.length + Math.max(0, room) - position);
      if (fits > 0) this.inode.write(buf, offset, Math.min(fits, length), position);
      throw sysError('ENOSPC', 'write', this.path);
    }
    this.inode.write(buf, offset, length, position);
  }

  async truncate(sizeBytes: number): Promise<void> {
    await Promise.resolve();
    this.check('ftruncate');
    this.inode.truncate(sizeBytes);
  }

  async datasync(): Promise<void> {
    await Promise.resolve();
    this.datasyncSync();
  }

  datasyncSync(): void {
    this.check('fdatasync');
    this.fs.takeSyncFailure('fdatasync', this.path);
    this.fs.stats.datasyncs++;
    this.inode.markSynced();
  }

  async sync(): Promise<void> {
    await Promise.resolve();
    this.check('fsync');
    this.fs.takeSyncFailure('fsync', this.path);
    this.fs.stats.fsyncs++;
    this.inode.markSynced();
  }

  async sizeBytes(): Promise<number> {
    await Promise.resolve();
    this.check('fstat');
    return this.inode.length;
  }

  async close(): Promise<void> {
    await Promise.resolve();
    this.closed = true;
  }

  private check(syscall: string): void {
    this.fs.checkAlive();
    if (this.closed) throw sysError('EBADF', syscall, this.path);
  }
}

function garbleRange(buf: Buffer, from: number, to: number, rng: Prng): void {
  const flips = 1 + rng.int(4);
  for (let i = 0; i < flips; i++) {
    const at = from + rng.int(to - from);
    buf[at] = (buf[at] ?? 0) ^ (1 + rng.int(255));
  }
}

function norm(path: string): string {
  return posix.resolve('/', path);
}

/** A Node-style system error. */
function sysError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}'`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}
