/**
 * Completions over time in fixed-width buckets, for the throughput plot. Bounded: when the run
 * outgrows `maxBuckets`, neighbouring buckets merge and the width doubles.
 */

export interface TimelineSeries {
  /** Width of each bucket. */
  bucketMs: number;
  /** Records completed in each bucket, from the start of the phase. */
  counts: number[];
}

export class ThroughputTimeline {
  private bucketMs: number;
  private counts: number[] = [];

  constructor(
    private readonly startMs: number,
    initialBucketMs = 50,
    private readonly maxBuckets = 1000,
  ) {
    this.bucketMs = initialBucketMs;
  }

  /** `records` completed at time `nowMs` (same clock as startMs). */
  add(nowMs: number, records = 1): void {
    let i = Math.max(0, Math.floor((nowMs - this.startMs) / this.bucketMs));
    while (i >= this.maxBuckets) {
      this.coarsen();
      i = Math.floor(i / 2);
    }
    while (this.counts.length <= i) this.counts.push(0);
    this.counts[i] = (this.counts[i] ?? 0) + records;
  }

  series(): TimelineSeries {
    return { bucketMs: this.bucketMs, counts: [...this.counts] };
  }

  private coarsen(): void {
    const merged: number[] = [];
    for (let i = 0; i < this.counts.length; i += 2) merged.push((this.counts[i] ?? 0) + (this.counts[i + 1] ?? 0));
    this.counts = merged;
    this.bucketMs *= 2;
  }
}
