import { InvalidArgumentError } from '../errors.js';
import { FRAME_HEADER_BYTES } from './codec.js';

/**
 * Splits a byte stream into length-prefixed frames (u32 big-endian length, then the body).
 * A frame's body is returned as the parts of the chunks it arrived in (views, in order): nothing
 * is copied here, and `decodeMessage` reads across the parts, so a big AppendEntries's values stay
 * views of the socket's chunks. A length above `maxFrameBytes` is a protocol error.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds a chunk; returns the body (as parts) of every frame it completes. */
  push(chunk: Buffer): Buffer[][] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Buffer[][] = [];
    while (this.buffered >= FRAME_HEADER_BYTES) {
      const length = this.frameLength();
      if (length > this.maxFrameBytes) {
        throw new InvalidArgumentError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      this.take(FRAME_HEADER_BYTES);
      frames.push(this.take(length));
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

  /** Removes the first `n` buffered bytes (n <= buffered) and returns them as views, in order. */
  private take(n: number): Buffer[] {
    this.buffered -= n;
    const parts: Buffer[] = [];
    for (let left = n; left > 0; ) {
      const c = this.chunks[0] as Buffer;
      if (c.length <= left) {
        parts.push(c);
        this.chunks.shift();
        left -= c.length;
      } else {
        parts.push(c.subarray(0, left));
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    return parts;
  }
}
