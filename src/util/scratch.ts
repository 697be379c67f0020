/**
 * A buffer reused for data that is dead once an operation completes (the writer's frames and
 * index entries: the store and index writes copy them). It grows on demand up to `maxKeptBytes`;
 * a larger request gets a one-off buffer, so one huge batch does not pin its size forever.
 */
export class Scratch {
  private buf = Buffer.alloc(0);

  constructor(private readonly maxKeptBytes: number) {}

  /** A buffer of exactly `bytes` bytes (contents undefined), valid until the next `take`. */
  take(bytes: number): Buffer {
    if (bytes > this.maxKeptBytes) return Buffer.allocUnsafe(bytes);
    if (bytes > this.buf.length) this.buf = Buffer.allocUnsafeSlow(Math.min(this.maxKeptBytes, Math.max(bytes, this.buf.length * 2)));
    return this.buf.subarray(0, bytes);
  }
}
