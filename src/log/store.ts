import { storageError } from '../errors.js';
import { readFully, readFullySync, type FileHandle } from './fs.js';

/**
 * Writes up to this size go straight to the page cache on the calling thread: a copy of a few
 * tens of microseconds at most, where the thread-pool round trip of an async write costs about as
 * much again plus a wake-up (bench-log, sync always, 1 in flight). Bigger groups (many appends
 * under load) take the thread pool so the event loop is never held long.
 */
export const SMALL_WRITE_MAX_BYTES = 64 * 1024;

/** Reads up to this size may run on the calling thread, while InlineGate allows it (Log.readParts). */
export const SMALL_READ_MAX_BYTES = 64 * 1024;

/**
 * A segment's store file: a header, then framed records back to back. `sizeBytes` is the end of
 * what has been written; only the writer changes it. Every I/O error leaves as a typed
 * StorageError naming the operation and the file.
 */
export class Store {
  constructor(
    readonly file: FileHandle,
    public sizeBytes: number,
  ) {}

  get path(): string {
    return this.file.path;
  }

  /**
   * Writes `data` at the end, without moving `sizeBytes`: the segment moves it together with its
   * index (readers derive the last record's length from it). On failure the caller truncates.
   */
  async writeAtEnd(data: Buffer): Promise<void> {
    try {
      if (data.length <= SMALL_WRITE_MAX_BYTES) this.file.writeSync(data, 0, data.length, this.sizeBytes);
      else await this.file.write(data, 0, data.length, this.sizeBytes);
    } catch (err) {
      throw storageError('write', this.path, err);
    }
  }

  /** Reads `length` bytes at `position`; fewer only when the file is shorter. */
  async read(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let n: number;
    try {
      n = await readFully(this.file, buf, 0, length, position);
    } catch (err) {
      throw storageError('read', this.path, err);
    }
    return n === length ? buf : buf.subarray(0, n);
  }

  readSync(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    let n: number;
    try {
      n = readFullySync(this.file, buf, 0, length, position);
    } catch (err) {
      throw storageError('read', this.path, err);
    }
    return n === length ? buf : buf.subarray(0, n);
  }

  /**
   * Cuts the file to `sizeBytes`. The size readers go by (the end of the last record) moves at
   * once, before the ftruncate: a caller that shortens the index in the same turn must never leave
   * a reader pairing the shorter index with the old size. If the ftruncate fails, the bytes past
   * the size are ones no reader reaches and recovery cuts.
   */
  async truncate(sizeBytes: number): Promise<void> {
    this.sizeBytes = sizeBytes;
    try {
      await this.file.truncate(sizeBytes);
    } catch (err) {
      throw storageError('ftruncate', this.path, err);
    }
  }

  /** fdatasync on the calling thread (the event loop waits for the disk); returns its duration in seconds. */
  syncInline(): number {
    const started = process.hrtime.bigint();
    try {
      this.file.datasyncSync();
    } catch (err) {
      throw storageError('fdatasync', this.path, err);
    }
    return Number(process.hrtime.bigint() - started) / 1e9;
  }

  /** fdatasync; returns its duration in seconds. */
  async sync(): Promise<number> {
    const started = process.hrtime.bigint();
    try {
      await this.file.datasync();
    } catch (err) {
      throw storageError('fdatasync', this.path, err);
    }
    return Number(process.hrtime.bigint() - started) / 1e9;
  }

  async close(): Promise<void> {
    try {
      await this.file.close();
    } catch (err) {
      throw storageError('close', this.path, err);
    }
  }
}
