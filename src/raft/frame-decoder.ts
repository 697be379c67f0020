import { InvalidArgumentError } from '../errors.js';
import { FRAME_HEADER_BYTES } from './codec.js';

/**
 * Splits a byte stream into length-prefixed frames (u32 big-endian length, then the body).
 * Chunks are kept as a list and joined only when a frame is complete, so large frames do not
 * cost quadratic copying. A length above `maxFrameBytes` is a protocol error.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds a chunk; returns every frame body it completes. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER_BYTES) break;
      const head = this.peek(FRAME_HEADER_BYTES);
      const length = head.readUInt32BE(0);
      if (length > this.maxFrameBytes) {
        throw new InvalidArgumentError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      const all = this.take(FRAME_HEADER_BYTES + length);
      frames.push(all.subarray(FRAME_HEADER_BYTES));
    }
    return frames;
  }

  /** Bytes received but not yet part of a complete frame. */
  pendingBytes(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) return first;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    const first = this.peek(n);
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}
