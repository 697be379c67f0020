import { crc32c } from '@node-rs/crc32';
import { readU64, writeU64 } from './record.js';

/**
 * The 32-byte header at the start of every store and index file (docs/format.md):
 *
 *   0  4   magic: "RPLS" (store) or "RPLI" (index)
 *   4  u16 format version (1)
 *   6  u16 reserved (0)
 *   8  u64 base offset (equal to the number in the file name)
 *  16  12  reserved (0)
 *  28  u32 crc32c of bytes 0..28
 */
export const FILE_HEADER_BYTES = 32;
export const FORMAT_VERSION = 1;

export type FileKind = 'store' | 'index';

const MAGIC: Record<FileKind, string> = { store: 'RPLS', index: 'RPLI' };

export function encodeFileHeader(kind: FileKind, baseOffset: number): Buffer {
  const buf = Buffer.alloc(FILE_HEADER_BYTES);
  buf.write(MAGIC[kind], 0, 'latin1');
  buf.writeUInt16BE(FORMAT_VERSION, 4);
  writeU64(buf, 8, baseOffset);
  buf.writeUInt32BE(crc32c(buf.subarray(0, 28)), 28);
  return buf;
}

/** Checks a header; returns a description of what is wrong, or null when it is valid. */
export function checkFileHeader(buf: Buffer, kind: FileKind, baseOffset: number): string | null {
  if (buf.length < FILE_HEADER_BYTES) return `file header is ${buf.length} of ${FILE_HEADER_BYTES} bytes`;
  if (buf.toString('latin1', 0, 4) !== MAGIC[kind]) return `bad magic (not a replog ${kind} file)`;
  if (crc32c(buf.subarray(0, 28)) !== buf.readUInt32BE(28)) return 'file header checksum mismatch';
  const version = buf.readUInt16BE(4);
  if (version !== FORMAT_VERSION) return `unsupported format version ${version}`;
  const base = readU64(buf, 8);
  if (base !== baseOffset) return `header base offset ${base} does not match the file name (${baseOffset})`;
  return null;
}

/** `<baseOffset zero-padded to 20 digits>.<kind>` */
export function segmentFileName(baseOffset: number, kind: FileKind): string {
  return `${String(baseOffset).padStart(20, '0')}.${kind}`;
}

const NAME = /^(\d{20})\.(store|index)$/;

/** Parses a segment file name; null for anything else (a stray file). */
export function parseSegmentFileName(name: string): { baseOffset: number; kind: FileKind } | null {
  const m = NAME.exec(name);
  if (!m?.[1] || !m[2]) return null;
  const baseOffset = Number(m[1]);
  if (!Number.isSafeInteger(baseOffset)) return null;
  return { baseOffset, kind: m[2] === 'store' ? 'store' : 'index' };
}
