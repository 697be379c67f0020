/**
 * Latencies of one benchmark phase in an HDR histogram (hdr-histogram-js): microsecond
 * resolution, 3 significant digits, values up to 10 minutes. Reports in milliseconds.
 */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

/** One point of the latency distribution: `percentile` of the records took at most `ms`. */
export interface PercentilePoint {
  percentile: number;
  ms: number;
}

const highestTrackableUs = 600_000_000;

/** The percentiles drawn in the latency plot: 0, 50, 75, 87.5, ... up to 99.99 ("nines" spacing). */
export const plotPercentiles: readonly number[] = Array.from({ length: 28 }, (_, i) => 100 * (1 - 0.5 ** (i / 2))).filter((p) => p <= 99.99);

export class LatencyHistogram {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: highestTrackableUs, numberOfSignificantValueDigits: 3 });

  record(ms: number): void {
    const us = Math.min(highestTrackableUs, Math.max(1, Math.round(ms * 1000)));
    this.h.recordValue(us);
  }

  get count(): number {
    return this.h.totalCount;
  }

  percentileMs(p: number): number {
    return this.h.totalCount === 0 ? 0 : this.h.getValueAtPercentile(p) / 1000;
  }

  summary(): LatencySummary {
    const empty = this.h.totalCount === 0;
    return {
      count: this.h.totalCount,
      p50Ms: this.percentileMs(50),
      p90Ms: this.percentileMs(90),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: empty ? 0 : this.h.maxValue / 1000,
      meanMs: empty ? 0 : this.h.mean / 1000,
    };
  }

  /** The distribution at `plotPercentiles` plus the maximum (as percentile 100). */
  curve(): PercentilePoint[] {
    if (this.h.totalCount === 0) return [];
    return [...plotPercentiles.map((p) => ({ percentile: p, ms: this.percentileMs(p) })), { percentile: 100, ms: this.h.maxValue / 1000 }];
  }
}
