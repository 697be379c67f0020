/**
 * The small file interface every byte of the log goes through. `NodeFileSystem` (node-fs.ts) is
 * the real one; `MemoryFileSystem` (memory-fs.ts) is the twin that remembers what was fsynced and
 * can simulate power loss and disk faults. Errors are Node-style system errors (with `code`);
 * the log turns them into typed errors with `storageError()`.
 */

/** How to open a file. */
export type OpenMode =
  /** Read and write an existing file (ENOENT if it does not exist). */
  | 'existing'
  /** Create the file, or truncate it to zero bytes if it exists; read and write. */
  | 'create';

/** An open file. Positions are absolute byte offsets; nothing depends on a file cursor. */
export interface FileHandle {
  readonly path: string;
  /** Reads up to `length` bytes at `position` into `buf[offset..]`; returns the bytes read. */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** The same, synchronously (for the synchronous Raft storage interface). */
  readSync(buf: Buffer, offset: number, length: number, position: number): number;
  /** Writes all of `buf[offset..offset+length)` at `position` (loops on short writes). */
  write(buf: Buffer, offset: number, length: number, position: number): Promise<void>;
  /**
   * The same, synchronously: for small writes, which only copy into the page cache, skipping the
   * thread-pool round trip is cheaper than the microseconds the event loop is held.
   */
  writeSync(buf: Buffer, offset: number, length: number, position: number): void;
  truncate(sizeBytes: number): Promise<void>;
  /** fdatasync: the data (and the size) are durable when it resolves. */
  datasync(): Promise<void>;
  /**
   * The same, synchronously: holds the calling thread for the whole flush. Only for a lone small
   * append on a disk whose recent flushes were fast (see InlineGate).
   */
  datasyncSync(): void;
  /** fsync: data and all metadata. */
  sync(): Promise<void>;
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** Names (not paths) of the entries of `dir`. */
  readdir(dir: string): Promise<string[]>;
  /** mkdir -p. */
  mkdirp(dir: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** rm -rf: no error when the path does not exist. */
  rmrf(path: string): Promise<void>;
  /** fsync of a directory: makes created, renamed and deleted entries in it durable. */
  fsyncDir(dir: string): Promise<void>;
  /** Whether `path` exists. */
  exists(path: string): Promise<boolean>;
}

/** Reads exactly `length` bytes at `position` (fewer only at end of file); returns the count. */
export async function readFully(
  file: FileHandle,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await file.read(buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Synchronous `readFully`. */
export function readFullySync(
  file: FileHandle,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): number {
  let done = 0;
  while (done < length) {
    const n = file.readSync(buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
