/**
 * Binary codec of gossip messages. A payload is `u8 count` followed by `count` frames; a frame is
 * `u16 length` + `u8 type` + fields. Strings are `u8 length` + UTF-8 (at most 255 bytes), numbers
 * are big-endian u32. Every read is bounds-checked: a bad payload throws MalformedPacketError,
 * which the caller counts and drops. Frames are encoded one by one so the sender can measure them
 * and piggyback only what fits.
 */
import { ByteReader, ByteWriter } from '../util/bytes.js';
import type { GossipMessage, MemberRecord } from './messages.js';
import type { MemberState, Tags } from './types.js';

/** A received payload that does not decode. Internal to membership: it never leaves the node. */
export class MalformedPacketError extends Error {
  constructor(readonly detail: string) {
    super(`malformed gossip packet: ${detail}`);
    this.name = 'MalformedPacketError';
  }
}

const TYPE_CODES = { ping: 1, ack: 2, 'ping-req': 3, alive: 4, suspect: 5, dead: 6, left: 7, sync: 8 } as const;
const STATE_CODES: Record<MemberState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };
const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];
const MAX_STRING_BYTES = 255;
const MAX_TAGS = 32;
/** Bytes of a frame's length prefix. */
export const FRAME_HEADER_BYTES = 2;
/** Bytes of the payload's message count. */
export const PAYLOAD_HEADER_BYTES = 1;
export const MAX_MESSAGES_PER_PACKET = 255;

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Writer extends ByteWriter {
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > MAX_STRING_BYTES) throw new RangeError(`gossip string over ${MAX_STRING_BYTES} bytes: ${s.slice(0, 40)}...`);
    this.u8(bytes.length);
    this.raw(bytes);
  }
  tags(tags: Tags): void {
    const entries = Object.entries(tags);
    if (entries.length > MAX_TAGS) throw new RangeError(`more than ${MAX_TAGS} tags`);
    this.u8(entries.length);
    for (const [k, v] of entries) {
      this.str(k);
      this.str(v);
    }
  }
}

class Reader extends ByteReader {
  constructor(buf: Buffer) {
    super(buf, (detail) => new MalformedPacketError(detail));
  }
  str(): string {
    const slice = this.raw(this.u8());
    try {
      return utf8.decode(slice);
    } catch {
      throw new MalformedPacketError('invalid UTF-8');
    }
  }
  name(): string {
    const s = this.str();
    if (s.length === 0) throw new MalformedPacketError('empty name');
    return s;
  }
  /** A `host:port` gossip address (host non-empty, port 1..65535). */
  addr(): string {
    const s = this.str();
    const i = s.lastIndexOf(':');
    const port = Number(s.slice(i + 1));
    if (i <= 0 || !/^[0-9]{1,5}$/.test(s.slice(i + 1)) || port < 1 || port > 65535) {
      throw new MalformedPacketError(`bad address ${s.slice(0, 40)}`);
    }
    return s;
  }
  tags(): Tags {
    const n = this.u8();
    if (n > MAX_TAGS) throw new MalformedPacketError(`${n} tags`);
    const tags: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      const k = this.str();
      if (Object.hasOwn(tags, k) || k === '__proto__') throw new MalformedPacketError(`bad tag key ${k}`);
      tags[k] = this.str();
    }
    return tags;
  }
  state(): MemberState {
    const v = this.u8();
    const s = STATES[v];
    if (s === undefined) throw new MalformedPacketError(`bad member state ${v}`);
    return s;
  }
  split(n: number): Reader {
    return new Reader(this.raw(n));
  }
}

function writeRecord(w: Writer, r: MemberRecord): void {
  w.str(r.name);
  w.str(r.addr);
  w.u32(r.incarnation);
  w.u8(STATE_CODES[r.state]);
  w.tags(r.tags);
}

function writeBody(w: Writer, m: GossipMessage): void {
  w.u8(TYPE_CODES[m.type]);
  switch (m.type) {
    case 'ping':
      w.u32(m.seq);
      w.str(m.target);
      w.str(m.from);
      return;
    case 'ack':
      w.u32(m.seq);
      w.str(m.from);
      return;
    case 'ping-req':
      w.u32(m.seq);
      w.str(m.target);
      w.str(m.targetAddr);
      w.str(m.from);
      return;
    case 'alive':
      w.str(m.name);
      w.str(m.addr);
      w.u32(m.incarnation);
      w.tags(m.tags);
      return;
    case 'suspect':
    case 'dead':
      w.str(m.name);
      w.u32(m.incarnation);
      w.str(m.from);
      return;
    case 'left':
      w.str(m.name);
      w.u32(m.incarnation);
      return;
    case 'sync':
      w.str(m.from);
      w.u8(m.replyWanted ? 1 : 0);
      w.u16(m.members.length);
      for (const r of m.members) writeRecord(w, r);
      return;
  }
}

/** One message as a frame (length prefix included). Throws RangeError on oversized fields. */
export function encodeFrame(m: GossipMessage): Buffer {
  const w = new Writer();
  w.u16(0);
  writeBody(w, m);
  const out = w.bytes();
  if (out.length - FRAME_HEADER_BYTES > 0xffff) throw new RangeError('gossip message over 64 KiB');
  out.writeUInt16BE(out.length - FRAME_HEADER_BYTES, 0);
  return Buffer.from(out);
}

/** Bytes one member record adds to a sync message. */
export function recordBytes(r: MemberRecord): number {
  const w = new Writer();
  writeRecord(w, r);
  return w.bytes().length;
}

/** A payload of already-encoded frames. */
export function joinFrames(frames: readonly Buffer[]): Buffer {
  if (frames.length === 0 || frames.length > MAX_MESSAGES_PER_PACKET) throw new RangeError(`${frames.length} frames`);
  return Buffer.concat([Buffer.of(frames.length), ...frames]);
}

function readRecord(r: Reader): MemberRecord {
  return { name: r.name(), addr: r.addr(), incarnation: r.u32(), state: r.state(), tags: r.tags() };
}

function readBody(r: Reader): GossipMessage {
  const code = r.u8();
  switch (code) {
    case TYPE_CODES.ping:
      return { type: 'ping', seq: r.u32(), target: r.name(), from: r.name() };
    case TYPE_CODES.ack:
      return { type: 'ack', seq: r.u32(), from: r.name() };
    case TYPE_CODES['ping-req']:
      return { type: 'ping-req', seq: r.u32(), target: r.name(), targetAddr: r.addr(), from: r.name() };
    case TYPE_CODES.alive:
      return { type: 'alive', name: r.name(), addr: r.addr(), incarnation: r.u32(), tags: r.tags() };
    case TYPE_CODES.suspect:
      return { type: 'suspect', name: r.name(), incarnation: r.u32(), from: r.name() };
    case TYPE_CODES.dead:
      return { type: 'dead', name: r.name(), incarnation: r.u32(), from: r.name() };
    case TYPE_CODES.left:
      return { type: 'left', name: r.name(), incarnation: r.u32() };
    case TYPE_CODES.sync: {
      const from = r.name();
      const replyWanted = r.bool();
      const n = r.u16();
      const members: MemberRecord[] = [];
      for (let i = 0; i < n; i++) members.push(readRecord(r));
      return { type: 'sync', from, replyWanted, members };
    }
    default:
      throw new MalformedPacketError(`unknown message type ${code}`);
  }
}

/** Decodes a whole payload; throws MalformedPacketError on anything unexpected. */
export function decodePayload(payload: Uint8Array): GossipMessage[] {
  const r = new Reader(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  const count = r.u8();
  if (count === 0) throw new MalformedPacketError('no messages');
  const out: GossipMessage[] = [];
  for (let i = 0; i < count; i++) {
    const frame = r.split(r.u16());
    out.push(readBody(frame));
    frame.end();
  }
  r.end();
  return out;
}
