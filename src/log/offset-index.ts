import { assert } from '../errors.js';
import type { EntryType } from '../raft/core/types.js';
import { FILE_HEADER_BYTES } from './file-header.js';
import { isEntryType, readU64, writeU64 } from './record.js';

/**
 * One index entry per record, 24 bytes, big-endian (docs/format.md):
 *
 *   0  u32  offset relative to the segment's base offset
 *   4  u8   entry type
 *   5  3    reserved (0)
 *   8  u64  position of the record's header in the store file
 *  16  u64  Raft term
 */
export const INDEX_ENTRY_BYTES = 24;

/**
 * A segment's index held in memory as one Buffer (never one JS object per record), in the same
 * layout as the file after its header. It answers position, term and type of any record of the
 * segment without touching the store.
 */
export class OffsetIndex {
  private buf: Buffer;
  private n = 0;

  constructor(initialCapacity = 64) {
    this.buf = Buffer.allocUnsafe(Math.max(1, initialCapacity) * INDEX_ENTRY_BYTES);
  }

  /** Adopts entries already validated (from the index file or a store scan). */
  static fromEntries(entries: Buffer, count: number): OffsetIndex {
    const index = new OffsetIndex(0);
    index.buf = entries;
    index.n = count;
    return index;
  }

  get count(): number {
    return this.n;
  }

  /** Bytes of the index file holding `count` entries. */
  static fileBytes(count: number): number {
    return FILE_HEADER_BYTES + count * INDEX_ENTRY_BYTES;
  }

  position(i: number): number {
    return this.u64(i, 8);
  }

  term(i: number): number {
    return this.u64(i, 16);
  }

  type(i: number): EntryType {
    this.check(i);
    const t = this.buf.readUInt8(i * INDEX_ENTRY_BYTES + 4);
    if (!isEntryType(t)) assert(false, `index entry ${i} has type ${t}`);
    return t;
  }

  /**
   * Whether the record header at byte `at` of `header` carries entry `i`'s term and type (compared as
   * raw bytes: the read path's cross-check, without decoding either side).
   */
  matchesHeader(i: number, header: DataView, at: number): boolean {
    this.check(i);
    const e = i * INDEX_ENTRY_BYTES;
    const { buf } = this;
    return (
      buf.readUInt32BE(e + 16) === header.getUint32(at + 16) &&
      buf.readUInt32BE(e + 20) === header.getUint32(at + 20) &&
      buf[e + 4] === header.getUint8(at + 24)
    );
  }

  /** Appends entries encoded with `encodeIndexEntry`. */
  appendEncoded(entries: Buffer): void {
    assert(entries.length % INDEX_ENTRY_BYTES === 0, 'partial index entry');
    const used = this.n * INDEX_ENTRY_BYTES;
    if (used + entries.length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(used + entries.length, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, used);
      this.buf = grown;
    }
    entries.copy(this.buf, used);
    this.n += entries.length / INDEX_ENTRY_BYTES;
  }

  /** Keeps the first `count` entries. */
  truncate(count: number): void {
    assert(count >= 0 && count <= this.n, `index truncate to ${count} of ${this.n}`);
    this.n = count;
  }

  /** The encoded entries [from, count), as they go into the file. */
  encodedFrom(from: number): Buffer {
    return this.buf.subarray(from * INDEX_ENTRY_BYTES, this.n * INDEX_ENTRY_BYTES);
  }

  // Hot paths (every read, termAt/typeAt from Raft): the failure messages are built only on failure.
  private u64(i: number, field: number): number {
    this.check(i);
    const v = readU64(this.buf, i * INDEX_ENTRY_BYTES + field);
    if (v === undefined) assert(false, `index entry ${i} field ${field} is out of range`);
    return v;
  }

  private check(i: number): void {
    if (!(Number.isInteger(i) && i >= 0 && i < this.n)) assert(false, `index entry ${i} of ${this.n}`);
  }
}

/** Encodes entry `rel` into `buf` at entry slot `slot`. */
export function encodeIndexEntry(buf: Buffer, slot: number, rel: number, type: EntryType, position: number, term: number): void {
  const at = slot * INDEX_ENTRY_BYTES;
  buf.writeUInt32BE(rel, at);
  buf.writeUInt8(type, at + 4);
  buf.fill(0, at + 5, at + 8);
  writeU64(buf, at + 8, position);
  writeU64(buf, at + 16, term);
}

/**
 * How many leading entries of an index file's entries can be trusted: entry i must have relative
 * offset i, a known type, a position strictly after the previous record (a whole header apart)
 * and inside the store, and a term no lower than the previous one.
 */
export function trustedPrefix(entries: Buffer, count: number, storeBytes: number, firstPosition: number): number {
  let minPos = firstPosition;
  let minTerm = 0;
  for (let i = 0; i < count; i++) {
    const at = i * INDEX_ENTRY_BYTES;
    const pos = readU64(entries, at + 8);
    const term = readU64(entries, at + 16);
    if (entries.readUInt32BE(at) !== i || !isEntryType(entries.readUInt8(at + 4))) return i;
    if (pos === undefined || term === undefined) return i;
    if (i === 0 ? pos !== firstPosition : pos < minPos) return i;
    if (pos + 32 > storeBytes || term < minTerm) return i;
    minPos = pos + 32;
    minTerm = term;
  }
  return count;
}
