/**
 * The binary codec of frames between peers: Raft messages, forwarded produces and forwarded
 * ReadIndex requests (docs/format.md, "Raft peer frames").
 *
 * A frame is `u32 length` (of what follows) + `u8 version` + `u8 kind` + the message's fields.
 * Integers are big-endian; indexes and terms are u64 written as two u32 halves (they are < 2^53);
 * strings are `u16 length` + UTF-8; byte strings are `u32 length` + bytes. Entry data decoded from
 * a frame is a view into the frame (no copy).
 */
import { InvalidArgumentError, type ProducerSequenceProblem } from '../errors.js';
import { ByteReader, ByteWriter } from '../util/bytes.js';
import { decodeConfig, encodeConfig } from './core/config.js';
import { EntryType, type AppendEntriesMessage, type Entry, type SnapshotMeta } from './core/types.js';
import type { ForwardErrorKind, ForwardRequest, ForwardResponse, PeerFrame } from './peer-frames.js';

export const CODEC_VERSION = 1;
/** Size of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

const KINDS = [
  'AppendEntries',
  'AppendEntriesResponse',
  'RequestVote',
  'RequestVoteResponse',
  'Heartbeat',
  'HeartbeatResponse',
  'InstallSnapshot',
  'TimeoutNow',
  'ForwardRequest',
  'ForwardResponse',
  'ReadIndexRequest',
  'ReadIndexResponse',
] as const satisfies readonly PeerFrame['type'][];

const KIND_CODE = new Map<PeerFrame['type'], number>(KINDS.map((k, i) => [k, i + 1]));
const FORWARD_ERROR_KINDS: readonly ForwardErrorKind[] = ['unavailable', 'invalid-argument', 'too-large', 'disk-full', 'internal', 'producer-sequence'];
const PRODUCER_PROBLEMS: readonly ProducerSequenceProblem[] = ['gap', 'unknown-producer', 'too-old'];
/** Optional trailing fields of forward frames (idempotent producers), each `u8 tag` + its fields. */
const TAG_PRODUCER = 1;
const TAG_DUPLICATE = 2;
const TAG_PRODUCER_ERROR = 3;
const ENTRY_FIXED_BYTES = 8 + 8 + 1 + 4;

/** Raft frames: strings are `u16 length` + UTF-8, byte strings `u32 length` + bytes. */
class Writer extends ByteWriter {
  override u64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`cannot encode ${v} as u64`);
    super.u64(v);
  }
  str(v: string): void {
    const bytes = Buffer.from(v, 'utf8');
    if (bytes.length > 0xffff) throw new InvalidArgumentError('string too long for the Raft codec');
    this.u16(bytes.length);
    this.raw(bytes);
  }
  bytes32(v: Uint8Array): void {
    this.u32(v.length);
    this.raw(v);
  }
  /** Patches the frame's length prefix and returns the frame. */
  frame(): Buffer {
    this.buf.writeUInt32BE(this.pos - FRAME_HEADER_BYTES, 0);
    return this.bytes();
  }
}

class Reader extends ByteReader {
  constructor(buf: Buffer | readonly Buffer[]) {
    super(buf, (detail) => new InvalidArgumentError(`malformed Raft frame: ${detail}`));
  }
  str(): string {
    return this.raw(this.u16()).toString('utf8');
  }
  bytes32(): Buffer {
    return this.raw(this.u32());
  }
  /** Whether bytes remain (optional trailing fields). */
  more(): boolean {
    return this.remaining() > 0;
  }
}

/**
 * The encoded entries of the last few AppendEntries, for the next ones with the same entries (the
 * same AppendEntries to another follower; a Ready bigger than one message sends several to each
 * follower in turn, hence more than one slot). Keyed by the first index and the last entry's index
 * and term: by Raft's log matching property, two runs of entries with those equal are equal, so a
 * hit is never stale.
 */
export class EntriesEncodingCache {
  private readonly slots: { key: string; body: Buffer }[] = [];

  constructor(private readonly size = 4) {}

  /** `entries` encoded as in an AppendEntries frame (after the count). */
  encode(entries: readonly Entry[]): Buffer {
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (first === undefined || last === undefined) return Buffer.alloc(0);
    const key = `${first.index}/${last.index}/${last.term}`;
    const hit = this.slots.find((s) => s.key === key);
    if (hit) return hit.body;
    const w = new Writer(entriesBytes(entries));
    for (const e of entries) writeEntry(w, e);
    const body = w.bytes();
    this.slots.push({ key, body });
    if (this.slots.length > this.size) this.slots.shift();
    return body;
  }
}

/**
 * Encodes one frame as parts to be written in order (length prefix included in the first): an
 * AppendEntries as its header and its entries, the entries from `cache` (encoded once for every
 * follower that gets the same ones); any other frame as one part.
 */
export function encodeFrameParts(msg: PeerFrame, cache: EntriesEncodingCache): Buffer[] {
  if (msg.type !== 'AppendEntries' || msg.entries.length === 0) return [encodeMessage(msg)];
  const body = cache.encode(msg.entries);
  const w = new Writer(headerBytesEstimate(msg));
  writeHeader(w, msg);
  writeAppendHeader(w, msg);
  const header = w.bytes();
  header.writeUInt32BE(header.length - FRAME_HEADER_BYTES + body.length, 0);
  return [header, body];
}

/** The fields every frame starts with; the length prefix is a placeholder, patched at the end. */
function writeHeader(w: Writer, msg: PeerFrame): void {
  w.u32(0);
  w.u8(CODEC_VERSION);
  w.u8(KIND_CODE.get(msg.type) ?? 0);
  w.str(msg.from);
  w.str(msg.to);
  w.u64(msg.term);
}

/** AppendEntries's fields before its entries. */
function writeAppendHeader(w: Writer, msg: AppendEntriesMessage): void {
  w.u64(msg.prevIndex);
  w.u64(msg.prevTerm);
  w.u64(msg.commit);
  w.u32(msg.entries.length);
}

/** Encodes one frame (length prefix included). */
export function encodeMessage(msg: PeerFrame): Buffer {
  const w = new Writer(frameBytesEstimate(msg));
  writeHeader(w, msg);
  switch (msg.type) {
    case 'AppendEntries':
      writeAppendHeader(w, msg);
      for (const e of msg.entries) writeEntry(w, e);
      break;
    case 'AppendEntriesResponse':
      w.bool(msg.success);
      w.u64(msg.index);
      w.u64(msg.conflictIndex);
      w.u64(msg.conflictTerm);
      break;
    case 'RequestVote':
      w.bool(msg.pre);
      w.u64(msg.lastIndex);
      w.u64(msg.lastTerm);
      w.bool(msg.transfer);
      break;
    case 'RequestVoteResponse':
      w.bool(msg.pre);
      w.bool(msg.granted);
      break;
    case 'Heartbeat':
      w.u64(msg.commit);
      w.u64(msg.readContext);
      break;
    case 'HeartbeatResponse':
      w.u64(msg.readContext);
      break;
    case 'InstallSnapshot':
      writeSnapshot(w, msg.snapshot);
      break;
    case 'TimeoutNow':
      break;
    case 'ForwardRequest':
      w.u64(msg.id);
      w.u32(msg.values.length);
      for (const v of msg.values) w.bytes32(v);
      if (msg.producer) {
        w.u8(TAG_PRODUCER);
        w.str(msg.producer.id);
        w.u64(msg.producer.sequence);
      }
      break;
    case 'ForwardResponse':
      w.u64(msg.id);
      w.bool(msg.ok);
      w.u64(msg.firstOffset);
      w.u8(FORWARD_ERROR_KINDS.indexOf(msg.errorKind));
      w.str(msg.errorMessage.slice(0, 1000));
      w.str(msg.leader);
      if (msg.duplicate) w.u8(TAG_DUPLICATE);
      if (msg.producerError) {
        w.u8(TAG_PRODUCER_ERROR);
        w.u8(PRODUCER_PROBLEMS.indexOf(msg.producerError.problem));
        w.u64(msg.producerError.expected);
      }
      break;
    case 'ReadIndexRequest':
      w.u64(msg.id);
      break;
    case 'ReadIndexResponse':
      w.u64(msg.id);
      w.bool(msg.ok);
      w.u64(msg.index);
      w.str(msg.errorMessage.slice(0, 1000));
      w.str(msg.leader);
      break;
  }
  return w.frame();
}

/**
 * Decodes a frame body (without its length prefix), whole or in the parts a stream delivered it in
 * (values are then views of the parts, except those straddling two). Throws InvalidArgumentError
 * on any malformation.
 */
export function decodeMessage(body: Buffer | readonly Buffer[]): PeerFrame {
  const r = new Reader(body);
  const version = r.u8();
  if (version !== CODEC_VERSION) throw new InvalidArgumentError(`unknown Raft codec version ${version}`);
  const kind = KINDS[r.u8() - 1];
  if (kind === undefined) throw new InvalidArgumentError('unknown Raft message kind');
  const from = r.str();
  const to = r.str();
  const term = r.u64();
  const msg = decodeBody(kind, r, from, to, term);
  r.end();
  return msg;
}

function decodeBody(kind: PeerFrame['type'], r: Reader, from: string, to: string, term: number): PeerFrame {
  switch (kind) {
    case 'AppendEntries': {
      const prevIndex = r.u64();
      const prevTerm = r.u64();
      const commit = r.u64();
      const count = r.u32();
      const entries: Entry[] = [];
      for (let i = 0; i < count; i++) entries.push(readEntry(r));
      return { type: kind, from, to, term, prevIndex, prevTerm, commit, entries };
    }
    case 'AppendEntriesResponse':
      return { type: kind, from, to, term, success: r.bool(), index: r.u64(), conflictIndex: r.u64(), conflictTerm: r.u64() };
    case 'RequestVote':
      return { type: kind, from, to, term, pre: r.bool(), lastIndex: r.u64(), lastTerm: r.u64(), transfer: r.bool() };
    case 'RequestVoteResponse':
      return { type: kind, from, to, term, pre: r.bool(), granted: r.bool() };
    case 'Heartbeat':
      return { type: kind, from, to, term, commit: r.u64(), readContext: r.u64() };
    case 'HeartbeatResponse':
      return { type: kind, from, to, term, readContext: r.u64() };
    case 'InstallSnapshot':
      return { type: kind, from, to, term, snapshot: readSnapshot(r) };
    case 'TimeoutNow':
      return { type: kind, from, to, term };
    case 'ForwardRequest': {
      const id = r.u64();
      const count = r.u32();
      const values: Uint8Array[] = [];
      for (let i = 0; i < count; i++) values.push(r.bytes32());
      const req: ForwardRequest = { type: kind, from, to, term, id, values };
      while (r.more()) {
        if (r.u8() !== TAG_PRODUCER) throw new InvalidArgumentError('unknown forward request field');
        req.producer = { id: r.str(), sequence: r.u64() };
      }
      return req;
    }
    case 'ForwardResponse': {
      const id = r.u64();
      const ok = r.bool();
      const firstOffset = r.u64();
      const errorKind = FORWARD_ERROR_KINDS[r.u8()];
      if (errorKind === undefined) throw new InvalidArgumentError('unknown forward error kind');
      const res: ForwardResponse = { type: kind, from, to, term, id, ok, firstOffset, errorKind, errorMessage: r.str(), leader: r.str() };
      readForwardResponseTail(r, res);
      return res;
    }
    case 'ReadIndexRequest':
      return { type: kind, from, to, term, id: r.u64() };
    case 'ReadIndexResponse':
      return { type: kind, from, to, term, id: r.u64(), ok: r.bool(), index: r.u64(), errorMessage: r.str(), leader: r.str() };
  }
}

function readForwardResponseTail(r: Reader, res: ForwardResponse): void {
  while (r.more()) {
    const tag = r.u8();
    if (tag === TAG_DUPLICATE) {
      res.duplicate = true;
    } else if (tag === TAG_PRODUCER_ERROR) {
      const problem = PRODUCER_PROBLEMS[r.u8()];
      if (problem === undefined) throw new InvalidArgumentError('unknown producer problem');
      res.producerError = { problem, expected: r.u64() };
    } else {
      throw new InvalidArgumentError('unknown forward response field');
    }
  }
}

function writeEntry(w: Writer, e: Entry): void {
  w.u64(e.index);
  w.u64(e.term);
  w.u8(e.type);
  w.bytes32(e.data);
}

function readEntry(r: Reader): Entry {
  const index = r.u64();
  const term = r.u64();
  const type = r.u8();
  if (type > EntryType.ProducerNext) throw new InvalidArgumentError(`unknown entry type ${type}`);
  return { index, term, type: type as EntryType, data: r.bytes32() };
}

function writeSnapshot(w: Writer, s: SnapshotMeta): void {
  w.u64(s.index);
  w.u64(s.term);
  w.u64(s.configIndex);
  w.bytes32(encodeConfig(s.config));
  w.bytes32(s.data);
}

function readSnapshot(r: Reader): SnapshotMeta {
  const index = r.u64();
  const term = r.u64();
  const configIndex = r.u64();
  const config = decodeConfig(r.bytes32());
  return { index, term, configIndex, config, data: r.bytes32() };
}

/** Length, version, kind, term, the longest fixed fields of any kind, and the two node ids. */
function headerBytesEstimate(msg: PeerFrame): number {
  return 128 + Buffer.byteLength(msg.from) + Buffer.byteLength(msg.to);
}

/** The exact size of `entries` encoded as in an AppendEntries. */
function entriesBytes(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += ENTRY_FIXED_BYTES + e.data.length;
  return n;
}

/**
 * An upper bound of the frame's size (exact for the variable parts), so that the writer never
 * grows: growing a big AppendEntries frame would allocate twice its size and copy it once more.
 */
export function frameBytesEstimate(msg: PeerFrame): number {
  let n = headerBytesEstimate(msg);
  switch (msg.type) {
    case 'AppendEntries':
      n += entriesBytes(msg.entries);
      break;
    case 'ForwardRequest':
      for (const v of msg.values) n += 4 + v.length;
      if (msg.producer) n += 16 + Buffer.byteLength(msg.producer.id);
      break;
    case 'ForwardResponse':
    case 'ReadIndexResponse':
      n += 16 + 3 * Math.min(msg.errorMessage.length, 1000) + Buffer.byteLength(msg.leader);
      break;
    case 'InstallSnapshot':
      n += 64 + msg.snapshot.data.length + encodeConfig(msg.snapshot.config).length;
      break;
    default:
      break;
  }
  return n;
}
