/**
 * Prometheus metrics of one agent, in a registry of its own (never prom-client's global one, so
 * several agents in one process, as in tests, do not collide).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the log reports for the gauges; fields a log cannot report are left out. */
export interface LogStats {
  /** The next offset to be written (highest + 1). */
  endOffset: number;
  sizeBytes?: number;
  segmentCount?: number;
}

const latencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'code'>;
  private readonly latency: Histogram<'method' | 'code'>;
  private readonly fsync: Histogram;
  private readonly duplicates: Counter;
  private readonly streamProduces: Counter;
  private readonly streamProduceLatency: Histogram;
  private statsSource: (() => LogStats) | undefined;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'replog_grpc_requests_total',
      help: 'gRPC calls finished, by method and status code',
      labelNames: ['method', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'replog_grpc_request_duration_seconds',
      help: 'gRPC call latency (streams: the whole stream), by method and status code',
      labelNames: ['method', 'code'],
      buckets: latencyBuckets,
      registers,
    });
    this.fsync = new Histogram({
      name: 'replog_log_fsync_duration_seconds',
      help: 'Latency of fsync calls of the segmented log',
      buckets: latencyBuckets,
      registers,
    });
    // A ProduceStream counts once in the per-call metrics, when it ends; the client library keeps
    // one open for all its produces, so each request on it is counted here too.
    this.streamProduces = new Counter({
      name: 'replog_produce_stream_requests_total',
      help: 'Produce requests answered on ProduceStreams (each request, not each stream)',
      registers,
    });
    this.streamProduceLatency = new Histogram({
      name: 'replog_produce_stream_request_duration_seconds',
      help: 'Latency of each produce request on a ProduceStream, from read to answer',
      buckets: latencyBuckets,
      registers,
    });
    this.duplicates = new Counter({
      name: 'replog_producer_duplicate_records_total',
      help: 'Records of idempotent producers answered as duplicates (a retry of records already appended) instead of appended again',
      registers,
    });
    const stat = (name: string, help: string, pick: (s: LogStats) => number | undefined): void => {
      const source = (): (() => LogStats) | undefined => this.statsSource;
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const get = source();
          const value = get ? pick(get()) : undefined;
          if (value !== undefined) this.set(value);
        },
      });
    };
    stat('replog_log_end_offset', 'The next offset the log will assign', (s) => s.endOffset);
    stat('replog_log_size_bytes', 'Bytes of log segments on disk', (s) => s.sizeBytes);
    stat('replog_log_segments', 'Number of log segments', (s) => s.segmentCount);
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'replog_' });
  }

  /** Where the log gauges read from (set once the log is open). */
  setLogStats(source: () => LogStats): void {
    this.statsSource = source;
  }

  /** One finished call. */
  observeCall(method: string, code: string, seconds: number): void {
    this.requests.inc({ method, code });
    this.latency.observe({ method, code }, seconds);
  }

  /** One produce request answered on a ProduceStream, `seconds` after it was read. */
  observeStreamProduce(seconds: number): void {
    this.streamProduces.inc();
    this.streamProduceLatency.observe(seconds);
  }

  /** An idempotent produce repeated `records` records already in the log (dedup hits). */
  observeDuplicate(records: number): void {
    this.duplicates.inc(records);
  }

  /** The log's onFsync hook. */
  readonly observeFsync = (seconds: number): void => {
    this.fsync.observe(seconds);
  };
}
