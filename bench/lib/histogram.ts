import * as hdr from 'hdr-histogram-js';

/** Latencies in milliseconds, kept in an HDR histogram (microsecond resolution, 3 digits). */
export class Histogram {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  record(ms: number): void {
    this.h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  percentile(p: number): number {
    return this.h.getValueAtPercentile(p) / 1000;
  }

  get count(): number {
    return this.h.totalCount;
  }

  max(): number {
    return this.h.maxValue / 1000;
  }
}
