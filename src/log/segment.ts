import { join } from 'node:path';
import { CorruptionError, storageError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FileHandle, FileSystem } from './fs.js';
import { encodeFileHeader, FILE_HEADER_BYTES, segmentFileName } from './file-header.js';
import { OffsetIndex } from './offset-index.js';
import type { EntryType } from '../raft/core/types.js';
import { checkFrame, RECORD_HEADER_BYTES, type LogRecord } from './record.js';
import { Store } from './store.js';

/** Pending index entries that trigger a write of the index file between groups (LogWriter). */
export const INDEX_FLUSH_ENTRIES = 4096;
const TWO_32 = 2 ** 32;

/**
 * One segment: a store file of framed records and its index, both named by the base offset. The
 * index lives in memory (OffsetIndex) and is mirrored to the index file. Only the log's single
 * writer mutates a segment; readers on the thread pool `retain()` it so a deleted segment's files
 * are closed only once no read is using them (an inline read is planned and done in one turn).
 */
export class Segment {
  private refs = 0;
  /** Entries [0, indexFlushed) are written to the index file. */
  private indexFlushed: number;
  private retired = false;
  private closing: Promise<void> | null = null;

  constructor(
    readonly baseOffset: number,
    readonly store: Store,
    readonly indexFile: FileHandle,
    readonly index: OffsetIndex,
    private readonly logger: Logger,
  ) {
    this.indexFlushed = index.count;
  }

  /** Creates both files with their headers and makes them durable (not the directory entry). */
  static async create(fs: FileSystem, dir: string, baseOffset: number, logger: Logger): Promise<Segment> {
    const storePath = join(dir, segmentFileName(baseOffset, 'store'));
    const indexPath = join(dir, segmentFileName(baseOffset, 'index'));
    const opened: FileHandle[] = [];
    try {
      for (const [path, kind] of [[storePath, 'store'], [indexPath, 'index']] as const) {
        const file = await fs.open(path, 'create').catch((err: unknown) => Promise.reject(storageError('open', path, err)));
        opened.push(file);
        const header = encodeFileHeader(kind, baseOffset);
        await file.write(header, 0, header.length, 0).catch((err: unknown) => Promise.reject(storageError('write', path, err)));
        await file.datasync().catch((err: unknown) => Promise.reject(storageError('fdatasync', path, err)));
      }
    } catch (err) {
      await Promise.allSettled(opened.map((f) => f.close()));
      await Promise.allSettled([fs.unlink(storePath), fs.unlink(indexPath)]);
      throw err;
    }
    const [storeFile, indexFile] = opened as [FileHandle, FileHandle];
    return new Segment(baseOffset, new Store(storeFile, FILE_HEADER_BYTES), indexFile, new OffsetIndex(), logger);
  }

  get nextOffset(): number {
    return this.baseOffset + this.index.count;
  }

  get count(): number {
    return this.index.count;
  }

  get storePath(): string {
    return this.store.path;
  }

  get indexPath(): string {
    return this.indexFile.path;
  }

  /** Bytes of the index file. */
  indexBytes(): number {
    return OffsetIndex.fileBytes(this.index.count);
  }

  /** Byte range [position, end) of record `rel` in the store. */
  span(rel: number): { position: number; end: number } {
    const position = this.index.position(rel);
    const end = rel + 1 < this.index.count ? this.index.position(rel + 1) : this.store.sizeBytes;
    return { position, end };
  }

  /**
   * Writes framed records to the store and adds their entries to the in-memory index. Index
   * entries reach the index file later (`flushIndex`), and only for records whose store bytes were
   * synced first (LogWriter): recovery takes an intact record the index file knows, beyond a bad
   * one, as proof that the bad one is corruption rather than a torn tail, which is sound only if
   * the index never gets ahead of the synced store. Whatever the file lacks is rebuilt from the
   * store. On failure the store may hold part of the frame: the caller undoes with `undo()`.
   */
  async write(frame: Buffer, entries: Buffer): Promise<void> {
    await this.store.writeAtEnd(frame);
    this.store.sizeBytes += frame.length;
    this.index.appendEncoded(entries);
  }

  /** Index entries not yet written to the index file. */
  indexPending(): number {
    return this.index.count - this.indexFlushed;
  }

  /** Writes the index entries not yet in the index file (no sync). */
  async flushIndex(): Promise<void> {
    const from = this.indexFlushed;
    const count = this.index.count;
    if (from === count) return;
    const bytes = this.index.encodedFrom(from);
    await this.indexFile
      .write(bytes, 0, bytes.length, OffsetIndex.fileBytes(from))
      .catch((err: unknown) => Promise.reject(storageError('write', this.indexPath, err)));
    this.indexFlushed = Math.max(this.indexFlushed, count);
  }

  /**
   * Cuts both files back to `count` records (no sync: the caller decides). The index and the
   * store's size go back in the same turn (Store.truncate moves the size before its ftruncate).
   */
  async undo(count: number, storeBytes: number): Promise<void> {
    this.index.truncate(count);
    this.indexFlushed = Math.min(this.indexFlushed, count);
    await this.store.truncate(storeBytes);
    await this.indexFile.truncate(OffsetIndex.fileBytes(this.indexFlushed)).catch((err: unknown) => Promise.reject(storageError('ftruncate', this.indexPath, err)));
  }

  /** Keeps the first `count` records, durably (ftruncate + fsync of both files). */
  async truncateTo(count: number): Promise<void> {
    const storeBytes = count < this.index.count ? this.index.position(count) : this.store.sizeBytes;
    await this.undo(count, storeBytes);
    await this.store.sync();
    await this.syncIndex();
  }

  /** fdatasync of the store; returns its duration in seconds. */
  syncStore(): Promise<number> {
    return this.store.sync();
  }

  /** `syncStore` on the calling thread. */
  syncStoreInline(): number {
    return this.store.syncInline();
  }

  /** Writes pending index entries and fdatasyncs the index file. */
  async syncIndex(): Promise<void> {
    await this.flushIndex();
    await this.indexFile.datasync().catch((err: unknown) => Promise.reject(storageError('fdatasync', this.indexPath, err)));
  }

  /**
   * The store bytes of records [fromRel, toRel), with one pread; `decode` checks and splits them.
   * Split in two so a reader can start its next pread before it checks this batch.
   */
  readBytes(fromRel: number, toRel: number): Promise<Buffer> {
    return this.store.read(this.index.position(fromRel), this.spanBytes(fromRel, toRel));
  }

  /** `readBytes` on the calling thread. */
  readBytesSync(fromRel: number, toRel: number): Buffer {
    return this.store.readSync(this.index.position(fromRel), this.spanBytes(fromRel, toRel));
  }

  /** Store bytes of records [fromRel, toRel) (what `readBytes` reads). */
  spanBytes(fromRel: number, toRel: number): number {
    return this.span(toRel - 1).end - this.index.position(fromRel);
  }

  /** Reads records [fromRel, toRel) synchronously, with one pread, checked like `decode`. */
  readRangeSync(fromRel: number, toRel: number): LogRecord[] {
    return this.decode(this.readBytesSync(fromRel, toRel), fromRel, toRel);
  }

  /**
   * Decodes records [fromRel, toRel) from `buf`, the bytes `readBytes` returned for them, in
   * place: each record is where its index entry says, is checked against its CRC and against the
   * entry (length, offset, term, type), and its value is a view into `buf`. The index must not
   * have changed since `readBytes` (the log checks its epoch).
   */
  decode(buf: Buffer, fromRel: number, toRel: number): LogRecord[] {
    const records: LogRecord[] = [];
    const { index } = this;
    const first = index.position(fromRel);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    let at = 0;
    for (let rel = fromRel; rel < toRel; rel++) {
      const end = (rel + 1 < index.count ? index.position(rel + 1) : this.store.sizeBytes) - first;
      const offset = this.baseOffset + rel;
      const problem = checkFrame(buf, view, at, end);
      if (problem !== null) throw new CorruptionError(this.storePath, first + at, `record ${offset}: ${problem}`);
      if (!index.matchesHeader(rel, view, at) || view.getUint32(at + 8) * TWO_32 + view.getUint32(at + 12) !== offset) {
        throw new CorruptionError(this.storePath, first + at, `record ${offset} does not match its index entry`);
      }
      const term = view.getUint32(at + 16) * TWO_32 + view.getUint32(at + 20);
      const type = view.getUint8(at + 24) as EntryType; // equal to the index entry's type, which is valid
      records.push({ offset, term, type, value: buf.subarray(at + RECORD_HEADER_BYTES, end) });
      at = end;
    }
    return records;
  }

  /**
   * The largest toRel in (fromRel, limitRel] whose records' values fit in maxBytes (at least
   * fromRel + 1 when `atLeastOne`; else fromRel when even one does not fit).
   */
  cutByBytes(fromRel: number, limitRel: number, maxBytes: number, atLeastOne: boolean): number {
    const start = this.index.position(fromRel);
    const valueBytes = (toRel: number): number => this.span(toRel - 1).end - start - RECORD_HEADER_BYTES * (toRel - fromRel);
    let lo = atLeastOne ? fromRel + 1 : fromRel;
    let hi = limitRel;
    if (valueBytes(hi) <= maxBytes) return hi;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (valueBytes(mid) <= maxBytes) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** A reader starts using the segment's files. */
  retain(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs === 0 && this.retired) void this.close();
  }

  /** The segment was deleted or the log closes: close the files once no reader uses them. */
  retire(): Promise<void> {
    this.retired = true;
    return this.refs === 0 ? this.close() : Promise.resolve();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const results = await Promise.allSettled([this.store.close(), this.indexFile.close()]);
      for (const r of results) {
        if (r.status === 'rejected') this.logger.warn({ err: r.reason as unknown, segment: this.baseOffset }, 'closing a segment file failed');
      }
    })();
    return this.closing;
  }
}
