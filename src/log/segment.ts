import { join } from 'node:path';
import { CorruptionError, storageError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FileHandle, FileSystem } from './fs.js';
import { encodeFileHeader, FILE_HEADER_BYTES, segmentFileName } from './file-header.js';
import { OffsetIndex } from './offset-index.js';
import { decodeRecord, RECORD_HEADER_BYTES, type LogRecord } from './record.js';
import { Store } from './store.js';

/** Pending index entries that trigger a write of the index file during appends. */
const INDEX_FLUSH_ENTRIES = 4096;

/**
 * One segment: a store file of framed records and its index, both named by the base offset. The
 * index lives in memory (OffsetIndex) and is mirrored to the index file. Only the log's single
 * writer mutates a segment; readers `retain()` it so a deleted segment's files are closed only
 * once no read is using them.
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
   * entries reach the index file lazily (`flushIndex`): on roll, sync and close, and once
   * INDEX_FLUSH_ENTRIES are pending; recovery rebuilds whatever the file lacks from the store.
   * On failure the store may hold part of the frame: the caller undoes with `undo()`.
   */
  async write(frame: Buffer, entries: Buffer): Promise<void> {
    await this.store.writeAtEnd(frame);
    this.store.sizeBytes += frame.length;
    this.index.appendEncoded(entries);
    if (this.index.count - this.indexFlushed >= INDEX_FLUSH_ENTRIES) await this.flushIndex();
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

  /** Cuts both files back to `count` records (no sync: the caller decides). */
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

  /** Writes pending index entries and fdatasyncs the index file. */
  async syncIndex(): Promise<void> {
    await this.flushIndex();
    await this.indexFile.datasync().catch((err: unknown) => Promise.reject(storageError('fdatasync', this.indexPath, err)));
  }

  /** Reads records [fromRel, toRel) with one pread, verifying each against its checksum and index entry. */
  async readRange(fromRel: number, toRel: number): Promise<LogRecord[]> {
    const first = this.span(fromRel).position;
    const end = this.span(toRel - 1).end;
    return this.parse(await this.store.read(first, end - first), first, fromRel, toRel);
  }

  readRangeSync(fromRel: number, toRel: number): LogRecord[] {
    const first = this.span(fromRel).position;
    const end = this.span(toRel - 1).end;
    return this.parse(this.store.readSync(first, end - first), first, fromRel, toRel);
  }

  /** Decodes records [fromRel, toRel) back to back from `buf` (which starts at store position `first`). */
  private parse(buf: Buffer, first: number, fromRel: number, toRel: number): LogRecord[] {
    const records: LogRecord[] = [];
    let at = 0;
    for (let rel = fromRel; rel < toRel; rel++) {
      const r = decodeRecord(buf, at, buf.length);
      if (!r.ok) throw new CorruptionError(this.storePath, first + at, `record ${this.baseOffset + rel}: ${r.failure}`);
      const rec = r.record;
      if (rec.offset !== this.baseOffset + rel || rec.term !== this.index.term(rel) || rec.type !== this.index.type(rel)) {
        throw new CorruptionError(this.storePath, first + at, `record ${this.baseOffset + rel} does not match its index entry`);
      }
      records.push(rec);
      at += r.sizeBytes;
    }
    if (at !== buf.length) throw new CorruptionError(this.storePath, first + at, 'records do not end where the index says');
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
