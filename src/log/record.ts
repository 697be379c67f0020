import { crc32c } from '@node-rs/crc32';
import { EntryType } from '../raft/core/types.js';

/**
 * Record framing in the store file (docs/format.md). Big-endian, 32-byte header then the value:
 *
 *   0  u32  crc32c of bytes 4.. of the header and the whole value
 *   4  u32  value length
 *   8  u64  absolute offset
 *  16  u64  Raft term
 *  24  u8   entry type (0 data, 1 noop, 2 config)
 *  25  u8   flags (0; reserved)
 *  26  6    reserved (0)
 *  32       value
 */
export const RECORD_HEADER_BYTES = 32;

/** A record as read back from the log. `value` may share memory with a read buffer. */
export interface LogRecord {
  offset: number;
  term: number;
  type: EntryType;
  value: Buffer;
}

/** A record to append. */
export interface NewRecord {
  value: Uint8Array;
  /** Raft term (default 0: not replicated). */
  term?: number;
  /** Entry type (default data). */
  type?: EntryType;
}

/** Frames one record into `buf` at `at`; returns the bytes written. */
export function encodeRecord(buf: Buffer, at: number, offset: number, term: number, type: EntryType, value: Uint8Array): number {
  buf.writeUInt32BE(value.length, at + 4);
  writeU64(buf, at + 8, offset);
  writeU64(buf, at + 16, term);
  // Type, flags and reserved bytes one field at a time: Buffer.fill costs more than these writes.
  buf.writeUInt8(type, at + 24);
  buf.writeUInt8(0, at + 25);
  buf.writeUInt16BE(0, at + 26);
  buf.writeUInt32BE(0, at + 28);
  buf.set(value, at + RECORD_HEADER_BYTES);
  const end = at + RECORD_HEADER_BYTES + value.length;
  buf.writeUInt32BE(checksum(buf, at + 4, end), at);
  return end - at;
}

/** CRC-32C of `buf[from..to)`, through a plain Uint8Array view (cheaper to make than a Buffer subarray). */
export function checksum(buf: Buffer, from: number, to: number): number {
  return crc32c(new Uint8Array(buf.buffer, buf.byteOffset + from, to - from));
}

/**
 * The read path's check of the record whose frame the index places at `buf[at..end)` (`view`
 * is a DataView of `buf`, cheaper per field than Buffer's checked readers): the frame
 * is whole, its length field agrees with the index, its CRC matches and its flags are 0. Returns
 * why not, or null. (The caller compares offset, term and type with the index entry.)
 */
export function checkFrame(buf: Buffer, view: DataView, at: number, end: number): string | null {
  if (end > buf.length || end - at < RECORD_HEADER_BYTES) return 'truncated';
  if (view.getUint32(at + 4) !== end - at - RECORD_HEADER_BYTES) return 'length does not match the index';
  if (checksum(buf, at + 4, end) !== view.getUint32(at)) return 'checksum';
  if (view.getUint8(at + 25) !== 0) return 'malformed';
  return null;
}

/** Why bytes at some position are not a valid record. */
export type DecodeFailure = 'truncated' | 'checksum' | 'malformed';

export type DecodeResult = { ok: true; record: LogRecord; sizeBytes: number } | { ok: false; failure: DecodeFailure };

/**
 * Decodes the record at `buf[at..limit)`. `truncated`: the bytes end before the record does (a
 * torn tail, or a read that was too short); `checksum`: the CRC does not match; `malformed`: the
 * CRC matches but a field is impossible (unknown type, set flags, offset beyond 2^53).
 */
export function decodeRecord(buf: Buffer, at: number, limit: number): DecodeResult {
  if (limit - at < RECORD_HEADER_BYTES) return { ok: false, failure: 'truncated' };
  const length = buf.readUInt32BE(at + 4);
  const end = at + RECORD_HEADER_BYTES + length;
  if (end > limit) return { ok: false, failure: 'truncated' };
  if (checksum(buf, at + 4, end) !== buf.readUInt32BE(at)) return { ok: false, failure: 'checksum' };
  const offset = readU64(buf, at + 8);
  const term = readU64(buf, at + 16);
  const type = buf.readUInt8(at + 24);
  if (offset === undefined || term === undefined || !isEntryType(type) || buf.readUInt8(at + 25) !== 0) {
    return { ok: false, failure: 'malformed' };
  }
  const value = buf.subarray(at + RECORD_HEADER_BYTES, end);
  return { ok: true, record: { offset, term, type, value }, sizeBytes: end - at };
}

export function isEntryType(n: number): n is EntryType {
  return Number.isInteger(n) && n >= EntryType.Data && n <= EntryType.ProducerNext;
}

const TWO_32 = 2 ** 32;

/** Writes a non-negative safe integer as a big-endian u64 (two u32 halves). */
export function writeU64(buf: Buffer, at: number, n: number): void {
  buf.writeUInt32BE(Math.floor(n / TWO_32), at);
  buf.writeUInt32BE(n >>> 0, at + 4);
}

/** Reads a big-endian u64; undefined when it does not fit a safe integer. */
export function readU64(buf: Buffer, at: number): number | undefined {
  const hi = buf.readUInt32BE(at);
  if (hi >= 2 ** 21) return undefined;
  return hi * TWO_32 + buf.readUInt32BE(at + 4);
}
