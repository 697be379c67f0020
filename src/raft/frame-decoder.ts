import { InvalidArgumentError } from '../errors.js';
import { FRAME_HEADER_BYTES } from './codec.js';

/**
 * Splits a byte stream into length-prefixed frames (u32 big-endian length, then the body).
 * Chunks are kept as a list until a frame is complete; then exactly that frame's bytes are joined
 * (a view, no copy, when one chunk holds the whole frame). Bytes of the following frames are never
 * copied along, so each byte is copied at most once. A length above `maxFrameBytes` is a protocol
 * error.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds a chunk; returns every frame body it completes. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    while (this.buffered >= FRAME_HEADER_BYTES) {
      const length = this.frameLength();
      if (length > this.maxFrameBytes) {
        throw new InvalidArgumentError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      frames.push(this.take(FRAME_HEADER_BYTES + length).subarray(FRAME_HEADER_BYTES));
    }
    return frames;
  }

  /** Bytes received but not yet part of a complete frame. */
  pendingBytes(): number {
    return this.buffered;
  }

  /** The length prefix of the next frame (its 4 bytes may straddle chunks). */
  private frameLength(): number {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    let at = 0;
    for (const c of this.chunks) {
      at += c.copy(this.header, at, 0, Math.min(c.length, FRAME_HEADER_BYTES - at));
      if (at === FRAME_HEADER_BYTES) break;
    }
    return this.header.readUInt32BE(0);
  }

  /** Removes and returns the first `n` buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0] as Buffer;
      const used = Math.min(c.length, n - at);
      c.copy(out, at, 0, used);
      at += used;
      if (used === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(used);
    }
    return out;
  }
}
