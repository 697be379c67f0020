/**
 * Raft index <-> user offset (ARCHITECTURE 3, "Dense user offsets").
 *
 * The segmented log holds every Raft entry at its Raft index; users see offsets only over data
 * entries, densely: the first data entry after the log's start (index `startIndex`) has offset
 * `startOffset`, the next data entry `startOffset + 1`, and so on. Control entries (noop, config)
 * are rare (one per election or membership change), so the translator keeps just their indexes,
 * sorted, and answers both directions with a binary search. It is a pure function of the entry
 * types in the log plus the start metadata's base, rebuilt on open from the log's in-memory index,
 * so there is no separate cache that could disagree with the store (rule 7).
 */
import { assert } from '../errors.js';

export class OffsetTranslator {
  /** Raft indexes of control entries in [startIndex, endIndex), ascending. */
  private controls: number[] = [];
  /** One past the last index covered. */
  private endIndex: number;

  /**
   * @param startIndex the first Raft index in the log (snapshot index + 1)
   * @param startOffset the user offset the first data entry at or after startIndex gets
   */
  constructor(
    private startIndex: number,
    private startOffset: number,
  ) {
    this.endIndex = startIndex;
  }

  /** Records the entry at `index` (must be the next one). */
  push(index: number, isControl: boolean): void {
    assert(index === this.endIndex, () => `translator expected index ${this.endIndex}, got ${index}`);
    if (isControl) this.controls.push(index);
    this.endIndex = index + 1;
  }

  /** Forgets every entry at index >= from (truncateSuffix). */
  truncateSuffix(from: number): void {
    if (from >= this.endIndex) return;
    assert(from >= this.startIndex, () => `cannot truncate below the start ${this.startIndex}`);
    while (this.controls.length > 0 && (this.controls[this.controls.length - 1] ?? 0) >= from) this.controls.pop();
    this.endIndex = from;
  }

  /** Restarts empty at `startIndex` with data offsets from `startOffset` (reset / InstallSnapshot). */
  reset(startIndex: number, startOffset: number): void {
    this.startIndex = startIndex;
    this.startOffset = startOffset;
    this.endIndex = startIndex;
    this.controls = [];
  }

  /**
   * Moves the start forward to `startIndex` (old segments dropped by retention); the user offset
   * base follows. `startIndex` may not pass the end.
   */
  advanceStart(startIndex: number): void {
    if (startIndex <= this.startIndex) return;
    assert(startIndex <= this.endIndex, () => `cannot start at ${startIndex} past the end ${this.endIndex}`);
    const newOffset = this.nextOffsetAt(startIndex);
    const drop = lowerBound(this.controls, startIndex);
    this.controls = this.controls.slice(drop);
    this.startIndex = startIndex;
    this.startOffset = newOffset;
  }

  /** The first Raft index covered. */
  firstIndex(): number {
    return this.startIndex;
  }

  /** One past the last Raft index covered. */
  nextIndex(): number {
    return this.endIndex;
  }

  /** The user offset of the first data entry. */
  firstOffset(): number {
    return this.startOffset;
  }

  /** The user offset the next data entry at or after `index` gets (index in [start, end]). */
  nextOffsetAt(index: number): number {
    assert(index >= this.startIndex && index <= this.endIndex, () => `index ${index} outside [${this.startIndex}, ${this.endIndex}]`);
    return this.startOffset + (index - this.startIndex) - lowerBound(this.controls, index);
  }

  /** Whether `index` holds a control entry. */
  isControl(index: number): boolean {
    const i = lowerBound(this.controls, index);
    return this.controls[i] === index;
  }

  /** User offset of the data entry at `index`. */
  offsetOf(index: number): number {
    assert(!this.isControl(index), () => `index ${index} is a control entry`);
    return this.nextOffsetAt(index);
  }

  /**
   * Raft index of user offset `offset` when it is covered, else undefined. O(log controls).
   */
  indexOf(offset: number): number | undefined {
    const k = offset - this.startOffset;
    if (k < 0) return undefined;
    // Controls whose number of preceding data entries is <= k all sit before the k-th data entry.
    let lo = 0;
    let hi = this.controls.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.controls[mid] ?? 0;
      if (c - this.startIndex - mid <= k) lo = mid + 1;
      else hi = mid;
    }
    const index = this.startIndex + k + lo;
    return index < this.endIndex ? index : undefined;
  }

  /** Data entries covered by (startIndex .. upTo], upTo inclusive: the number of user offsets. */
  dataCountThrough(upTo: number): number {
    return this.nextOffsetAt(Math.min(upTo + 1, this.endIndex)) - this.startOffset;
  }
}

/** First position in ascending `xs` whose value is >= x. */
function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] ?? 0) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
