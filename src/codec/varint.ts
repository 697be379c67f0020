/**
 * Protobuf varints for the hand-written codecs (hot-codec.ts): sizes, writers into a Buffer
 * sized in advance, and readers that give up (instead of guessing) on any shape they do not
 * take, so that the generated decoder can decide.
 */

const TWO_POW_32 = 0x1_0000_0000;
const UINT64_MAX = (1n << 64n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Where a reader stopped. */
export interface Cursor {
  pos: number;
}

/** Returned by readVarint28 for anything it does not take. */
export const NOT_FAST = -1;

/** Bytes of `n` (a non-negative integer) as a varint. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

export function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= TWO_POW_32) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

function bigVarintSize(n: bigint): number {
  let size = 1;
  while (n >= 128n) {
    n >>= 7n;
    size++;
  }
  return size;
}

function writeBigVarint(buf: Buffer, pos: number, n: bigint): number {
  while (n >= 128n) {
    buf[pos++] = Number(n & 0x7fn) | 0x80;
    n >>= 7n;
  }
  buf[pos++] = Number(n);
  return pos;
}

export const uint64Size = (n: bigint): number => (n <= MAX_SAFE ? varintSize(Number(n)) : bigVarintSize(n));

export const writeUint64 = (buf: Buffer, pos: number, n: bigint): number => (n <= MAX_SAFE ? writeVarint(buf, pos, Number(n)) : writeBigVarint(buf, pos, n));

/** Throws as the generated encoder does on a uint64 out of range. */
export function checkUint64(name: string, n: bigint): void {
  if (n < 0n || n > UINT64_MAX) throw new Error(`value provided for field message.${name} of type uint64 too large`);
}

/** Throws as the generated encoder does on a value that is not a uint32. */
export function checkUint32(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`invalid uint32: ${n}`);
  return n;
}

/** A varint of at most 4 bytes (< 2^28) at `pos`, or NOT_FAST; `end` bounds it. */
export function readVarint28(buf: Buffer, pos: number, end: number, out: Cursor): number {
  let n = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) return NOT_FAST;
    const b = buf[pos++]!;
    n |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      out.pos = pos;
      return n;
    }
  }
  return NOT_FAST;
}

/** A uint32 varint (at most 5 bytes, below 2^32) at `pos`, or NOT_FAST. */
export function readUint32(buf: Buffer, pos: number, end: number, out: Cursor): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 5; i++) {
    if (pos >= end) return NOT_FAST;
    const b = buf[pos++]!;
    if (i === 4 && b > 0x0f) return NOT_FAST;
    n += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      out.pos = pos;
      return n;
    }
    scale *= 128;
  }
  return NOT_FAST;
}

/**
 * A varint of up to 64 bits (10 bytes, the last one 0 or 1) at `pos` as a bigint, or undefined
 * (not a shape taken here: the generated decoder decides). Up to 7 bytes (2^49) it adds in
 * doubles and makes one bigint at the end: offsets and terms are that small.
 */
export function readUint64(buf: Buffer, pos: number, end: number, out: Cursor): bigint | undefined {
  let low = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= end) return undefined;
    const b = buf[pos++]!;
    low += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      out.pos = pos;
      return BigInt(low);
    }
    scale *= 128;
  }
  let n = BigInt(low);
  for (let shift = 49n; shift <= 63n; shift += 7n) {
    if (pos >= end) return undefined;
    const b = buf[pos++]!;
    if (shift === 63n && b > 1) return undefined;
    n |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      out.pos = pos;
      return n;
    }
  }
  return undefined;
}
