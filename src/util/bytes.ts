/**
 * Growable big-endian writer and bounds-checked reader, shared by the binary codecs (Raft peer
 * frames, gossip packets). Each codec subclasses them with its own strings and fields and gives the
 * reader the error it throws on malformed input.
 */

const TWO_32 = 4294967296;

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

export class ByteReader {
  protected pos = 0;

  constructor(
    protected readonly buf: Buffer,
    /** Makes the error thrown on malformed input. */
    protected readonly malformed: (detail: string) => Error,
  ) {}

  protected need(n: number): void {
    if (this.pos + n > this.buf.length) throw this.malformed(`truncated at byte ${this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] ?? 0;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
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

  /** The next `n` bytes (a view). */
  raw(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Throws unless every byte was read. */
  end(): void {
    if (this.pos !== this.buf.length) throw this.malformed(`${this.buf.length - this.pos} trailing bytes`);
  }
}
