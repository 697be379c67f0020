import { assert, type LogFailedError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LogConfig } from './config.js';
import type { Segment } from './segment.js';
import type { OffsetWaiters } from '../util/offset-waiters.js';

/**
 * What the log's reader side and its single writer share. Readers only ever look at offsets below
 * `published`; the writer appends past it and moves it forward once the bytes are written (and,
 * with sync `always`, fsynced). `epoch` changes whenever records may disappear (truncateSuffix,
 * reset, truncate), so a read that raced with such a change can tell and retry.
 */
export class LogState {
  /** Offset after the last record readers may see (highest published offset + 1). */
  published: number;
  epoch = 0;
  failed: LogFailedError | null = null;

  constructor(
    readonly dir: string,
    readonly config: LogConfig,
    readonly logger: Logger,
    public segments: Segment[],
    readonly waiters: OffsetWaiters,
  ) {
    assert(segments.length > 0, 'a log has at least one segment');
    this.published = this.active.nextOffset;
  }

  get active(): Segment {
    const seg = this.segments[this.segments.length - 1];
    assert(seg !== undefined, 'a log has at least one segment');
    return seg;
  }

  lowestOffset(): number {
    const first = this.segments[0];
    assert(first !== undefined, 'a log has at least one segment');
    return first.baseOffset;
  }

  /** The segment holding `offset` (lowestOffset() <= offset < active.nextOffset). */
  find(offset: number): Segment {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((segs[mid]?.baseOffset ?? Infinity) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const seg = segs[lo];
    assert(seg !== undefined && seg.baseOffset <= offset && offset < seg.nextOffset, () => `no segment holds offset ${offset}`);
    return seg;
  }

  /** Makes every record below `next` visible and wakes the waiters. */
  publish(next: number): void {
    this.published = next;
    this.waiters.notify(next - 1);
  }

  /** Hides every record at or above `next` (before truncating them). */
  unpublish(next: number): void {
    this.published = Math.min(this.published, next);
    this.epoch++;
  }
}
