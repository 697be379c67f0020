/**
 * Hand-written protobuf codecs for the messages on the hot paths, byte-compatible with the
 * generated ts-proto code in src/gen (which stays the reference and is unchanged):
 *
 * - server: ProduceRequest in, ProduceResponse and ConsumeResponse out;
 * - client: ProduceRequest out, ConsumeResponse in.
 *
 * Why: the generated encoder grows a buffer by doubling (copying each time), slices it, and
 * grpc-js's generated serializer copies it once more with Buffer.from; the generated decoder
 * allocates an empty Buffer for every record and then copies every value. Here an encoder
 * computes the exact size first and writes once into one Buffer, and the decoders return values
 * as views of the received message. grpc-js allocates a fresh buffer for every received message
 * (its stream decoder concatenates the frame's chunks), so the views are never overwritten; a
 * view keeps its whole message alive, which is at most one batch.
 *
 * Equivalence: the encoders produce exactly the generated encoders' bytes (same field order,
 * defaults omitted). The decoders have a fast path for the shapes our peers send (known fields
 * only, lengths below 256 MiB, ASCII producer ids) and hand any other input,
 * valid or not, to the generated decoder, so their results and errors are the generated code's.
 * test/codec/hot-codec.test.ts checks both with random messages and damaged bytes.
 */
import { ConsumeResponse, ProduceRequest, type ProduceResponse, type Record as WireRecord } from '../gen/log/v1/log.js';
import { NOT_FAST, checkUint32, checkUint64, readUint32, readUint64, readVarint28, uint64Size, varintSize, writeUint64, writeVarint, type Cursor } from './varint.js';

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

// ---- encoding ----

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

/** The record fields of a message (one singular, one repeated), sized once and written once. */
class RecordFields {
  private readonly single: number;
  private readonly sizes: number[];
  readonly bytes: number;

  constructor(
    private readonly record: WireRecord | undefined,
    private readonly records: readonly WireRecord[],
  ) {
    this.single = record === undefined ? -1 : recordBodySize(record);
    this.sizes = records.map(recordBodySize);
    let total = this.single < 0 ? 0 : 1 + varintSize(this.single) + this.single;
    for (const s of this.sizes) total += 1 + varintSize(s) + s;
    this.bytes = total;
  }

  write(buf: Buffer, pos: number, singleTag: number, repeatedTag: number): number {
    if (this.record !== undefined) pos = writeRecord(buf, pos, singleTag, this.record, this.single);
    for (let i = 0; i < this.sizes.length; i++) pos = writeRecord(buf, pos, repeatedTag, this.records[i]!, this.sizes[i]!);
    return pos;
  }
}

/** ConsumeResponse -> bytes, in one exactly sized Buffer. */
export function encodeConsumeResponse(msg: ConsumeResponse): Buffer {
  return encodeConsumeResponseInto(msg, (n) => Buffer.allocUnsafe(n));
}

/**
 * ConsumeResponse -> bytes, in memory from `alloc` (e.g. a reused Scratch: see grpc-server.ts,
 * whose serializer's output grpc-js copies before it returns).
 */
export function encodeConsumeResponseInto(msg: ConsumeResponse, alloc: (bytes: number) => Buffer): Buffer {
  const fields = new RecordFields(msg.record, msg.records);
  const buf = alloc(fields.bytes);
  fields.write(buf, 0, TAG_CONSUME_RECORD, TAG_CONSUME_RECORDS);
  return buf;
}

/** ProduceRequest -> bytes, in one exactly sized Buffer. */
export function encodeProduceRequest(msg: ProduceRequest): Buffer {
  const fields = new RecordFields(msg.record, msg.records);
  const idBytes = msg.producerId === '' ? 0 : Buffer.byteLength(msg.producerId, 'utf8');
  if (msg.sequence !== 0n) checkUint64('sequence', msg.sequence);
  const size = fields.bytes + (idBytes !== 0 ? 1 + varintSize(idBytes) + idBytes : 0) + (msg.sequence !== 0n ? 1 + uint64Size(msg.sequence) : 0);
  const buf = Buffer.allocUnsafe(size);
  let pos = fields.write(buf, 0, TAG_PRODUCE_RECORD, TAG_PRODUCE_RECORDS);
  if (idBytes !== 0) {
    buf[pos++] = TAG_PRODUCER_ID;
    pos = writeVarint(buf, pos, idBytes);
    pos += buf.write(msg.producerId, pos, 'utf8');
  }
  if (msg.sequence !== 0n) {
    buf[pos++] = TAG_SEQUENCE;
    writeUint64(buf, pos, msg.sequence);
  }
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

/**
 * A Record body in [pos, end) holding only the four known fields (in any order; a repeated one
 * takes its last value, as in the generated decoder); undefined for anything else. Values are
 * views of `buf`.
 */
function fastRecord(buf: Buffer, pos: number, end: number, cursor: Cursor): WireRecord | undefined {
  let value: Buffer | undefined;
  let offset = 0n;
  let term = 0n;
  let type = 0;
  while (pos < end) {
    const tag = buf[pos]!;
    if (tag === TAG_VALUE) {
      const len = readVarint28(buf, pos + 1, end, cursor);
      if (len === NOT_FAST || cursor.pos + len > end) return undefined;
      value = buf.subarray(cursor.pos, cursor.pos + len);
      pos = cursor.pos + len;
      continue;
    }
    if (tag === TAG_TYPE) {
      type = readUint32(buf, pos + 1, end, cursor);
      if (type === NOT_FAST) return undefined;
    } else if (tag === TAG_OFFSET || tag === TAG_TERM) {
      const n = readUint64(buf, pos + 1, end, cursor);
      if (n === undefined) return undefined;
      if (tag === TAG_OFFSET) offset = n;
      else term = n;
    } else {
      return undefined;
    }
    pos = cursor.pos;
  }
  return { value: value ?? Buffer.alloc(0), offset, term, type };
}

/**
 * The record fields of a message from `pos` on: each a tag `singleTag` or `repeatedTag` and a
 * fast Record, up to a tag that is neither or the end. Returns where it stopped, or NOT_FAST.
 */
function fastRecordFields(buf: Buffer, pos: number, singleTag: number, repeatedTag: number, into: { record: WireRecord | undefined; records: WireRecord[] }, cursor: Cursor): number {
  while (pos < buf.length) {
    const tag = buf[pos]!;
    if (tag !== singleTag && tag !== repeatedTag) return pos;
    const len = readVarint28(buf, pos + 1, buf.length, cursor);
    if (len === NOT_FAST || cursor.pos + len > buf.length) return NOT_FAST;
    const end = cursor.pos + len;
    const record = fastRecord(buf, cursor.pos, end, cursor);
    if (record === undefined) return NOT_FAST;
    if (tag === singleTag) {
      if (into.record !== undefined) return NOT_FAST; // a repeated singular field merges: general path
      into.record = record;
    } else {
      into.records.push(record);
    }
    pos = end;
  }
  return pos;
}

/** An ASCII string field (a producer id) at `pos`; undefined for anything else (the generated decoder decides). */
function readAscii(buf: Buffer, pos: number, out: Cursor): string | undefined {
  const len = readVarint28(buf, pos, buf.length, out);
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
    if (tag === TAG_PRODUCER_ID) {
      const id = readAscii(buf, pos + 1, cursor);
      if (id === undefined) return undefined;
      req.producerId = id;
    } else if (tag === TAG_SEQUENCE) {
      const sequence = readUint64(buf, pos + 1, buf.length, cursor);
      if (sequence === undefined) return undefined;
      req.sequence = sequence;
    } else {
      const stop = fastRecordFields(buf, pos, TAG_PRODUCE_RECORD, TAG_PRODUCE_RECORDS, req, cursor);
      if (stop === NOT_FAST || stop === pos) return undefined;
      pos = stop;
      continue;
    }
    pos = cursor.pos;
  }
  return req;
}

function fastConsumeResponse(buf: Buffer): ConsumeResponse | undefined {
  const res: ConsumeResponse = { record: undefined, records: [] };
  return fastRecordFields(buf, 0, TAG_CONSUME_RECORD, TAG_CONSUME_RECORDS, res, { pos: 0 }) === buf.length ? res : undefined;
}

/** bytes -> ProduceRequest; values are views of `buf`. Throws as the generated decoder does. */
export function decodeProduceRequest(buf: Buffer): ProduceRequest {
  return fastProduceRequest(buf) ?? ProduceRequest.decode(buf);
}

/** bytes -> ConsumeResponse; values are views of `buf`. Throws as the generated decoder does. */
export function decodeConsumeResponse(buf: Buffer): ConsumeResponse {
  return fastConsumeResponse(buf) ?? ConsumeResponse.decode(buf);
}
