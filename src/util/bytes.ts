/**
 * Growable big-endian writer and bounds-checked reader, shared by the binary codecs (Raft peer
 * frames, gossip packets). Each codec subclasses them with its own strings and fields and gives the
 * reader the error it throws on malformed input.
 */

const TWO_32 = 4294967296;

/** The summed length of `bufs` (the bytes of a batch of values, of frames to join). */
export function totalLength(bufs: readonly Buffer[]): number {
  let n = 0;
  for (const b of bufs) n += b.length;
  return n;
}

export class ByteWriter {
  protected buf: Buffer;
  protected pos = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  protected ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.pos = this.buf.writeUInt8(v, this.pos);
  }

  u16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }

  u32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v >>> 0, this.pos);
  }

  /** A non-negative safe integer as two u32 halves. */
  u64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`cannot encode ${v} as u64`);
    this.ensure(8);
    this.pos = this.buf.writeUInt32BE(Math.floor(v / TWO_32), this.pos);
    this.pos = this.buf.writeUInt32BE(v >>> 0, this.pos);
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }

  /** Raw bytes, no length. */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Bytes written so far (a view). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads a message given as one buffer or as consecutive parts (the chunks a stream delivered it
 * in): reads that lie inside one part are views of it; only the few that straddle two parts are
 * copied.
 */
export class ByteReader {
  private readonly parts: readonly Buffer[];
  private part = 0;
  /** The current part, and the position in it. */
  private buf: Buffer;
  private pos = 0;
  /** Bytes of the parts before the current one. */
  private before = 0;
  /** Bytes not yet read. */
  private left: number;

  constructor(
    input: Buffer | readonly Buffer[],
    /** Makes the error thrown on malformed input. */
    protected readonly malformed: (detail: string) => Error,
  ) {
    this.parts = Buffer.isBuffer(input) ? [input] : input;
    this.buf = this.parts[0] ?? EMPTY;
    this.left = totalLength(this.parts);
  }

  /** Bytes not yet read. */
  remaining(): number {
    return this.left;
  }

  /** The next `n` bytes: a view when they lie in one part, else a copy. */
  private take(n: number): Buffer {
    if (n > this.left) throw this.malformed(`truncated at byte ${this.before + this.pos}`);
    this.left -= n;
    this.nextPartIfDone();
    if (this.pos + n <= this.buf.length) {
      const v = this.buf.subarray(this.pos, this.pos + n);
      this.pos += n;
      return v;
    }
    const out = Buffer.allocUnsafe(n);
    for (let at = 0; at < n; ) {
      this.nextPartIfDone();
      const k = Math.min(n - at, this.buf.length - this.pos);
      this.buf.copy(out, at, this.pos, this.pos + k);
      this.pos += k;
      at += k;
    }
    return out;
  }

  private nextPartIfDone(): void {
    while (this.pos >= this.buf.length && this.part < this.parts.length - 1) {
      this.before += this.buf.length;
      this.buf = this.parts[++this.part] ?? EMPTY;
      this.pos = 0;
    }
  }

  /** Whether the next `n` bytes lie in the current part (the fast path of the fixed-size reads). */
  private inPart(n: number): boolean {
    if (this.pos + n > this.buf.length || n > this.left) return false;
    this.left -= n;
    return true;
  }

  u8(): number {
    if (this.inPart(1)) return this.buf[this.pos++] ?? 0;
    return this.take(1)[0] ?? 0;
  }

  u16(): number {
    if (!this.inPart(2)) return this.take(2).readUInt16BE(0);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    if (!this.inPart(4)) return this.take(4).readUInt32BE(0);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    const v = this.u32() * TWO_32 + this.u32();
    if (!Number.isSafeInteger(v)) throw this.malformed('u64 above 2^53');
    return v;
  }

  bool(): boolean {
    const v = this.u8();
    if (v > 1) throw this.malformed(`bad boolean ${v}`);
    return v === 1;
  }

  /** The next `n` bytes (a view, unless they straddle two parts). */
  raw(n: number): Buffer {
    return this.take(n);
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.left !== 0) throw this.malformed(`${this.left} trailing bytes`);
  }
}
