/**
 * The two phases every benchmark run has, for replog and for its peers alike: a closed-loop
 * produce (K workers, each sends one record and waits for its acknowledgement before the next)
 * and a read-back of what was produced. Latency is per record; throughput is records over the
 * phase's wall time. Every phase has a deadline.
 */
import { TimeoutError } from '../../errors.js';
import { LatencyHistogram, type LatencySummary, type PercentilePoint } from './latency-histogram.js';
import { ThroughputTimeline, type TimelineSeries } from './throughput-timeline.js';

export interface PhaseResult {
  records: number;
  bytes: number;
  elapsedMs: number;
  recordsPerSec: number;
  /** Megabytes (10^6 bytes) of record values per second. */
  mbPerSec: number;
  latency: LatencySummary;
  /** For the plot; not part of the JSON report. */
  curve: PercentilePoint[];
  timeline: TimelineSeries;
}

export interface ProducePhaseOptions {
  records: number;
  /** Records in flight (closed-loop workers). */
  inflight: number;
  valueBytes: number;
  /** Sends record `i` and resolves once it is acknowledged. */
  produce: (i: number) => Promise<void>;
  deadlineMs: number;
  onProgress?: (done: number) => void;
}

export async function runProducePhase(opts: ProducePhaseOptions): Promise<PhaseResult> {
  const h = new LatencyHistogram();
  const start = performance.now();
  const timeline = new ThroughputTimeline(start);
  let next = 0;
  let done = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < opts.records) {
      const i = next++;
      const t = performance.now();
      try {
        await opts.produce(i);
      } catch (err) {
        failed = true;
        throw err;
      }
      const now = performance.now();
      h.record(now - t);
      timeline.add(now);
      done++;
      opts.onProgress?.(done);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(opts.inflight, opts.records)) }, worker);
  await withDeadline(Promise.all(workers), opts.deadlineMs, `produce of ${opts.records} records`, () => (failed = true));
  return phaseResult(done, opts.valueBytes, performance.now() - start, h, timeline);
}

export interface ReadPhaseOptions {
  records: number;
  valueBytes: number;
  /** The records to read back; the phase stops (returns from the iterator) after `records`. */
  read: (signal: AbortSignal) => AsyncIterable<unknown>;
  deadlineMs: number;
  onProgress?: (done: number) => void;
}

/**
 * Reads `records` records. The latency of a record is how long the reader waited for it (the
 * time spent inside the iterator's next()): with batched reads most records wait ~0 and one per
 * batch waits for the round trip.
 */
export async function runReadPhase(opts: ReadPhaseOptions): Promise<PhaseResult> {
  const h = new LatencyHistogram();
  const abort = new AbortController();
  const start = performance.now();
  const timeline = new ThroughputTimeline(start);
  let done = 0;
  const read = async (): Promise<void> => {
    if (opts.records === 0) return;
    let asked = performance.now();
    for await (const _ of opts.read(abort.signal)) {
      const now = performance.now();
      h.record(now - asked);
      timeline.add(now);
      done++;
      opts.onProgress?.(done);
      if (done >= opts.records) break;
      asked = performance.now();
    }
    if (done < opts.records && !abort.signal.aborted) throw new TimeoutError(`read-back ended after ${done} of ${opts.records} records`);
  };
  await withDeadline(read(), opts.deadlineMs, `read-back of ${opts.records} records`, () => abort.abort());
  return phaseResult(done, opts.valueBytes, performance.now() - start, h, timeline);
}

function phaseResult(records: number, valueBytes: number, elapsedMs: number, h: LatencyHistogram, timeline: ThroughputTimeline): PhaseResult {
  const seconds = Math.max(elapsedMs, 1e-3) / 1000;
  return {
    records,
    bytes: records * valueBytes,
    elapsedMs,
    recordsPerSec: records / seconds,
    mbPerSec: (records * valueBytes) / 1e6 / seconds,
    latency: h.summary(),
    curve: h.curve(),
    timeline: timeline.series(),
  };
}

/** `work`, or a TimeoutError after `ms` (calling `onTimeout` so the work can stop). */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new TimeoutError(`${what} did not finish within ${ms} ms`));
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
  }
}
