/**
 * Hand-written protobuf codecs for the messages on the hot paths (ConsumeResponse,
 * ProduceResponse, ProduceRequest), byte-compatible with the generated ts-proto code in
 * src/gen (which stays the reference and is unchanged).
 *
 * Why: the generated encoder grows a buffer by doubling (copying each time), slices it, and
 * grpc-js's generated serializer copies it once more with Buffer.from; the generated decoder
 * copies every value. Here an encoder computes the exact size first and writes once into one
 * Buffer, and the ProduceRequest decoder returns values as views of the received message (grpc-js
 * allocates a fresh buffer per message, so the views are never overwritten).
 *
 * Equivalence: the encoders produce exactly the generated encoders' bytes (same field order,
 * defaults omitted; test/server/hot-codec.test.ts checks it with random messages). The decoder
 * has a fast path for the shape every client sends (records holding only a value, an ASCII
 * producer id, a sequence) and hands any
 * other input, valid or not, to the generated decoder, so its results and errors are the
 * generated code's.
 */
import { ProduceRequest, type ConsumeResponse, type ProduceResponse, type Record as WireRecord } from '../gen/log/v1/log.js';

const TAG_VALUE = 0x0a; // Record.value = 1, length-delimited
const TAG_OFFSET = 0x10; // Record.offset = 2, varint
const TAG_TERM = 0x18; // Record.term = 3, varint
const TAG_TYPE = 0x20; // Record.type = 4, varint
const TAG_PRODUCE_RECORD = 0x0a; // ProduceRequest.record = 1
const TAG_PRODUCE_RECORDS = 0x12; // ProduceRequest.records = 2
const TAG_PRODUCER_ID = 0x1a; // ProduceRequest.producer_id = 3, length-delimited
const TAG_SEQUENCE = 0x20; // ProduceRequest.sequence = 4, varint
const TAG_CONSUME_RECORD = 0x12; // ConsumeResponse.record = 2
const TAG_CONSUME_RECORDS = 0x1a; // ConsumeResponse.records = 3
const TAG_RESPONSE_OFFSET = 0x08; // ProduceResponse.offset = 1
const TAG_RESPONSE_COUNT = 0x10; // ProduceResponse.count = 2
const TAG_RESPONSE_DUPLICATE = 0x18; // ProduceResponse.duplicate = 3, varint

const TWO_POW_32 = 0x1_0000_0000;
const UINT64_MAX = (1n << 64n) - 1n;

// ---- encoding ----

/** Bytes of `n` (a non-negative integer) as a varint. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
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

/** Throws as the generated encoder does on a uint64 out of range. */
function checkUint64(name: string, n: bigint): void {
  if (n < 0n || n > UINT64_MAX) throw new Error(`value provided for field message.${name} of type uint64 too large`);
}

/** Throws as the generated encoder does on a value that is not a uint32. */
function checkUint32(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`invalid uint32: ${n}`);
  return n;
}

const uint64Size = (n: bigint): number => (n <= BigInt(Number.MAX_SAFE_INTEGER) ? varintSize(Number(n)) : bigVarintSize(n));
const writeUint64 = (buf: Buffer, pos: number, n: bigint): number =>
  n <= BigInt(Number.MAX_SAFE_INTEGER) ? writeVarint(buf, pos, Number(n)) : writeBigVarint(buf, pos, n);

/** Size of a Record's body (without its tag and length). */
function recordBodySize(r: WireRecord): number {
  let size = 0;
  if (r.value.length !== 0) size += 1 + varintSize(r.value.length) + r.value.length;
  if (r.offset !== 0n) {
    checkUint64('offset', r.offset);
    size += 1 + uint64Size(r.offset);
  }
  if (r.term !== 0n) {
    checkUint64('term', r.term);
    size += 1 + uint64Size(r.term);
  }
  if (r.type !== 0) size += 1 + varintSize(checkUint32(r.type));
  return size;
}

function writeRecord(buf: Buffer, pos: number, tag: number, r: WireRecord, bodySize: number): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, bodySize);
  if (r.value.length !== 0) {
    buf[pos++] = TAG_VALUE;
    pos = writeVarint(buf, pos, r.value.length);
    pos += r.value.copy(buf, pos);
  }
  if (r.offset !== 0n) {
    buf[pos++] = TAG_OFFSET;
    pos = writeUint64(buf, pos, r.offset);
  }
  if (r.term !== 0n) {
    buf[pos++] = TAG_TERM;
    pos = writeUint64(buf, pos, r.term);
  }
  if (r.type !== 0) {
    buf[pos++] = TAG_TYPE;
    pos = writeVarint(buf, pos, r.type);
  }
  return pos;
}

/** ConsumeResponse -> bytes, in one exactly sized Buffer. */
export function encodeConsumeResponse(msg: ConsumeResponse): Buffer {
  const single = msg.record === undefined ? -1 : recordBodySize(msg.record);
  const sizes = msg.records.map(recordBodySize);
  let total = single < 0 ? 0 : 1 + varintSize(single) + single;
  for (const s of sizes) total += 1 + varintSize(s) + s;
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  if (msg.record !== undefined) pos = writeRecord(buf, pos, TAG_CONSUME_RECORD, msg.record, single);
  for (let i = 0; i < sizes.length; i++) pos = writeRecord(buf, pos, TAG_CONSUME_RECORDS, msg.records[i]!, sizes[i]!);
  return buf;
}

/** ProduceResponse -> bytes. */
export function encodeProduceResponse(msg: ProduceResponse): Buffer {
  if (msg.offset !== 0n) checkUint64('offset', msg.offset);
  const count = msg.count === 0 ? 0 : checkUint32(msg.count);
  const size = (msg.offset !== 0n ? 1 + uint64Size(msg.offset) : 0) + (count !== 0 ? 1 + varintSize(count) : 0) + (msg.duplicate ? 2 : 0);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  if (msg.offset !== 0n) {
    buf[pos++] = TAG_RESPONSE_OFFSET;
    pos = writeUint64(buf, pos, msg.offset);
  }
  if (count !== 0) {
    buf[pos++] = TAG_RESPONSE_COUNT;
    pos = writeVarint(buf, pos, count);
  }
  if (msg.duplicate) {
    buf[pos++] = TAG_RESPONSE_DUPLICATE;
    buf[pos] = 1;
  }
  return buf;
}

// ---- decoding ----

/** Signals "not the fast path's shape": the generated decoder takes over. */
const NOT_FAST = -1;

/** A varint of at most 4 bytes (< 2^28) at `pos`, or NOT_FAST; `end` bounds it. */
function readSmallVarint(buf: Buffer, pos: number, end: number, out: { pos: number }): number {
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

/**
 * A Record body in [pos, end) holding at most one value field and nothing else; undefined when
 * it holds anything else.
 */
function fastRecord(buf: Buffer, pos: number, end: number, cursor: { pos: number }): WireRecord | undefined {
  if (pos === end) return { value: Buffer.alloc(0), offset: 0n, term: 0n, type: 0 };
  if (buf[pos] !== TAG_VALUE) return undefined;
  const len = readSmallVarint(buf, pos + 1, end, cursor);
  if (len === NOT_FAST || cursor.pos + len !== end) return undefined;
  return { value: buf.subarray(cursor.pos, end), offset: 0n, term: 0n, type: 0 };
}

/**
 * A varint of up to 64 bits (10 bytes, the last one 0 or 1) at `pos` as a bigint, or undefined
 * (not the fast path's shape: the generated decoder decides).
 */
function readVarint64(buf: Buffer, pos: number, end: number, out: { pos: number }): bigint | undefined {
  let n = 0n;
  for (let shift = 0n; shift <= 63n; shift += 7n) {
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

/** An ASCII string field (a producer id) at `pos`; undefined for anything else (the generated decoder decides). */
function readAscii(buf: Buffer, pos: number, out: { pos: number }): string | undefined {
  const len = readSmallVarint(buf, pos, buf.length, out);
  const start = out.pos;
  if (len === NOT_FAST || start + len > buf.length) return undefined;
  for (let i = start; i < start + len; i++) if (buf[i]! >= 0x80) return undefined;
  out.pos = start + len;
  return buf.toString('latin1', start, start + len);
}

function fastProduceRequest(buf: Buffer): ProduceRequest | undefined {
  const req: ProduceRequest = { record: undefined, records: [], producerId: '', sequence: 0n };
  const cursor = { pos: 0 };
  let pos = 0;
  while (pos < buf.length) {
    const tag = buf[pos]!;
    if (tag === TAG_PRODUCER_ID || tag === TAG_SEQUENCE) {
      const ok = tag === TAG_PRODUCER_ID ? readAscii(buf, pos + 1, cursor) : readVarint64(buf, pos + 1, buf.length, cursor);
      if (ok === undefined) return undefined;
      if (typeof ok === 'string') req.producerId = ok;
      else req.sequence = ok;
      pos = cursor.pos;
      continue;
    }
    if (tag !== TAG_PRODUCE_RECORD && tag !== TAG_PRODUCE_RECORDS) return undefined;
    const len = readSmallVarint(buf, pos + 1, buf.length, cursor);
    if (len === NOT_FAST || cursor.pos + len > buf.length) return undefined;
    const record = fastRecord(buf, cursor.pos, cursor.pos + len, cursor);
    if (record === undefined) return undefined;
    if (tag === TAG_PRODUCE_RECORD) {
      if (req.record !== undefined) return undefined; // a repeated singular field: rare, general path
      req.record = record;
    } else {
      req.records.push(record);
    }
    pos = cursor.pos + record.value.length;
  }
  return req;
}

/** bytes -> ProduceRequest; values are views of `buf`. Throws as the generated decoder does. */
export function decodeProduceRequest(buf: Buffer): ProduceRequest {
  return fastProduceRequest(buf) ?? ProduceRequest.decode(buf);
}
