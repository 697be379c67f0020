import { join } from 'node:path';
import { CorruptionError, storageError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FileHandle, FileSystem } from './fs.js';
import { checkFileHeader, encodeFileHeader, FILE_HEADER_BYTES, segmentFileName } from './file-header.js';
import { encodeIndexEntry, INDEX_ENTRY_BYTES, OffsetIndex, trustedPrefix } from './offset-index.js';
import { decodeRecord, RECORD_HEADER_BYTES } from './record.js';
import { Segment } from './segment.js';
import { Store } from './store.js';

/** Bytes read per step while scanning a store (a larger record gets one larger read). */
const SCAN_CHUNK_BYTES = 1024 * 1024;
/** Index entries at the end of a trusted prefix that are verified against the store anyway. */
const RESCAN_ENTRIES = 256;

/**
 * Opens an existing segment and recovers it (docs/format.md, "Recovery"): trust the index file
 * only as far as it is self-consistent, verify the last trusted record, rebuild the rest of the
 * index from the store. In the last segment the first invalid or partial record is a torn tail and
 * is cut off durably; anywhere else it is a CorruptionError.
 */
export async function openSegment(fs: FileSystem, dir: string, baseOffset: number, isLast: boolean, logger: Logger): Promise<Segment> {
  const storePath = join(dir, segmentFileName(baseOffset, 'store'));
  const storeFile = await io('open', storePath, fs.open(storePath, 'existing'));
  const store = new Store(storeFile, await io('fstat', storePath, storeFile.sizeBytes()));
  let indexFile: FileHandle | null = null;
  try {
    await checkStoreHeader(store, baseOffset, isLast, logger);
    indexFile = await openIndexFile(fs, join(dir, segmentFileName(baseOffset, 'index')));
    const index = await recoverIndex(store, indexFile, baseOffset, isLast, logger);
    return new Segment(baseOffset, store, indexFile, index, logger);
  } catch (err) {
    await Promise.allSettled([store.close(), indexFile?.close()]);
    throw err;
  }
}

async function checkStoreHeader(store: Store, baseOffset: number, isLast: boolean, logger: Logger): Promise<void> {
  const problem = checkFileHeader(await store.read(0, FILE_HEADER_BYTES), 'store', baseOffset);
  if (problem === null) return;
  if (!isLast || store.sizeBytes > FILE_HEADER_BYTES) throw new CorruptionError(store.path, 0, problem);
  // A segment torn while being created: it holds no record, so write its header again.
  logger.warn({ file: store.path, problem }, 'rewriting the torn header of an empty last segment');
  const header = encodeFileHeader('store', baseOffset);
  await store.truncate(0);
  await store.writeAtEnd(header);
  store.sizeBytes = header.length;
  await store.sync();
}

async function openIndexFile(fs: FileSystem, path: string): Promise<FileHandle> {
  const exists = await io('stat', path, fs.exists(path));
  return io('open', path, fs.open(path, exists ? 'existing' : 'create'));
}

async function recoverIndex(store: Store, indexFile: FileHandle, baseOffset: number, isLast: boolean, logger: Logger): Promise<OffsetIndex> {
  const fileBytes = await io('fstat', indexFile.path, indexFile.sizeBytes());
  const raw = Buffer.allocUnsafe(fileBytes);
  await io('read', indexFile.path, indexFile.read(raw, 0, fileBytes, 0).then((n) => readRest(indexFile, raw, n)));
  const headerOk = fileBytes >= FILE_HEADER_BYTES && checkFileHeader(raw, 'index', baseOffset) === null;
  const fileCount = headerOk ? Math.floor((fileBytes - FILE_HEADER_BYTES) / INDEX_ENTRY_BYTES) : 0;
  const entries = raw.subarray(FILE_HEADER_BYTES, FILE_HEADER_BYTES + fileCount * INDEX_ENTRY_BYTES);
  // The index is synced only on roll and close: its unsynced tail may be torn or garbled, so the
  // last RESCAN_ENTRIES entries are always rebuilt from the (checksummed) store.
  const structural = trustedPrefix(entries, fileCount, store.sizeBytes, FILE_HEADER_BYTES);
  const index = OffsetIndex.fromEntries(Buffer.from(entries), structural);
  // An intact record the index knows beyond a bad one proves the bad one is not a torn tail.
  const lastKnown = structural > 0 && (await lastRecordMatches(store, index, baseOffset)) ? index.position(structural - 1) : -1;
  let trusted = Math.max(0, structural - RESCAN_ENTRIES);
  index.truncate(trusted);
  while (trusted > 0 && !(await lastRecordMatches(store, index, baseOffset))) index.truncate(--trusted);

  const scanFrom = trusted > 0 ? await recordEnd(store, index.position(trusted - 1)) : FILE_HEADER_BYTES;
  const lastTerm = trusted > 0 ? index.term(trusted - 1) : 0;
  const tail = await scanStore(store, index, baseOffset, scanFrom, lastTerm);
  if (tail !== null) {
    if (!isLast || tail.kind === 'inconsistent' || lastKnown >= tail.position) {
      throw new CorruptionError(store.path, tail.position, tail.detail);
    }
    logger.warn({ file: store.path, position: tail.position, droppedBytes: store.sizeBytes - tail.position, detail: tail.detail }, 'dropping the torn tail of the log');
    await store.truncate(tail.position);
    await store.sync();
  }
  const rebuilt = index.encodedFrom(trusted);
  const onDisk = entries.subarray(trusted * INDEX_ENTRY_BYTES);
  const rewrite = !headerOk || fileBytes !== OffsetIndex.fileBytes(index.count) || !rebuilt.equals(onDisk);
  if (rewrite) await rewriteIndex(indexFile, index, baseOffset, headerOk ? trusted : 0);
  return index;
}

async function readRest(file: FileHandle, buf: Buffer, done: number): Promise<void> {
  while (done < buf.length) {
    const n = await file.read(buf, done, buf.length - done, done);
    if (n === 0) break;
    done += n;
  }
}

/** Whether the record the last index entry points at is intact and is that entry's record. */
async function lastRecordMatches(store: Store, index: OffsetIndex, baseOffset: number): Promise<boolean> {
  const i = index.count - 1;
  const position = index.position(i);
  const end = await recordEnd(store, position);
  if (end > store.sizeBytes) return false;
  const buf = await store.read(position, end - position);
  const r = decodeRecord(buf, 0, buf.length);
  return r.ok && r.record.offset === baseOffset + i && r.record.term === index.term(i) && r.record.type === index.type(i);
}

/** End of the record whose header is at `position`, from its length field (not verified). */
async function recordEnd(store: Store, position: number): Promise<number> {
  const header = await store.read(position, RECORD_HEADER_BYTES);
  if (header.length < RECORD_HEADER_BYTES) return Number.POSITIVE_INFINITY;
  return position + RECORD_HEADER_BYTES + header.readUInt32BE(4);
}

type ScanStop = { kind: 'torn' | 'inconsistent'; position: number; detail: string };

/** Appends index entries for every valid record from `position` on; returns where it stopped early. */
async function scanStore(store: Store, index: OffsetIndex, baseOffset: number, position: number, lastTerm: number): Promise<ScanStop | null> {
  const entry = Buffer.alloc(INDEX_ENTRY_BYTES);
  let chunkBytes = SCAN_CHUNK_BYTES;
  let pos = position;
  while (pos < store.sizeBytes) {
    const buf = await store.read(pos, Math.min(chunkBytes, store.sizeBytes - pos));
    let at = 0;
    for (;;) {
      const r = decodeRecord(buf, at, buf.length);
      if (!r.ok) {
        const need = buf.length - at >= RECORD_HEADER_BYTES ? RECORD_HEADER_BYTES + buf.readUInt32BE(at + 4) : RECORD_HEADER_BYTES;
        const more = r.failure === 'truncated' && pos + at + need <= store.sizeBytes && at + need > buf.length;
        if (!more) return { kind: 'torn', position: pos + at, detail: `invalid record (${r.failure})` };
        chunkBytes = Math.max(chunkBytes, need);
        break;
      }
      const expected = baseOffset + index.count;
      if (r.record.offset !== expected || r.record.term < lastTerm) {
        const detail = `record has offset ${r.record.offset} and term ${r.record.term}; expected offset ${expected}, term >= ${lastTerm}`;
        return { kind: 'inconsistent', position: pos + at, detail };
      }
      encodeIndexEntry(entry, 0, index.count, r.record.type, pos + at, r.record.term);
      index.appendEncoded(entry);
      lastTerm = r.record.term;
      at += r.sizeBytes;
      if (at === buf.length) break;
    }
    pos += at;
  }
  return null;
}

async function rewriteIndex(file: FileHandle, index: OffsetIndex, baseOffset: number, keptEntries: number): Promise<void> {
  const header = encodeFileHeader('index', baseOffset);
  const tail = index.encodedFrom(keptEntries);
  await io('write', file.path, file.write(header, 0, header.length, 0));
  await io('write', file.path, file.write(tail, 0, tail.length, OffsetIndex.fileBytes(keptEntries)));
  await io('ftruncate', file.path, file.truncate(OffsetIndex.fileBytes(index.count)));
  await io('fdatasync', file.path, file.datasync());
}

/** Awaits an I/O promise, turning its failure into a typed StorageError. */
async function io<T>(op: string, path: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw storageError(op, path, err);
  }
}
