/**
 * replog as a benchmark target, through its own client library: produces go through a
 * CoalescingProducer over unary batch produces (`unary`) or ProduceStream lanes (`stream`); the
 * read-back is a batched ConsumeStream from a follower (ReplogClient's default) or the leader.
 */
import { LogApiClient } from '../../client/log-client.js';
import { ReplogClient } from '../../client/replog-client.js';
import { UnavailableError } from '../../errors.js';
import type { ConsumedRecord } from '../../replicated-log.js';
import { CoalescingProducer, defaultCoalescingOptions, type SendBatch } from '../../client/coalescing-producer.js';
import { StreamLane } from './stream-lane.js';

export type ProduceMode = 'unary' | 'stream';
export type ConsumeFrom = 'follower' | 'leader';

export interface ReplogTargetOptions {
  addrs: readonly string[];
  mode: ProduceMode;
  /** Records in flight (bounds the coalescer's queue). */
  inflight: number;
  /** Records per request at most (the client's default is 1000). */
  maxBatchRecords: number;
  /** Batch requests in flight (unary calls or stream lanes). */
  requests: number;
  consumeFrom: ConsumeFrom;
  callTimeoutMs: number;
}

export class ReplogTarget {
  private readonly client: ReplogClient;
  private readonly lanes: StreamLane[] = [];
  private readonly producer: CoalescingProducer;
  private leaderReader: LogApiClient | undefined;
  private closed = false;

  constructor(private readonly opts: ReplogTargetOptions) {
    this.client = new ReplogClient({ addrs: opts.addrs, callTimeoutMs: opts.callTimeoutMs });
    const send: SendBatch = opts.mode === 'unary' ? (values) => this.client.produceBatch(values) : (values) => this.sendOnLane(values);
    this.producer = new CoalescingProducer(send, {
      ...defaultCoalescingOptions,
      maxBatchRecords: opts.maxBatchRecords,
      maxRequestsInflight: opts.requests,
    });
  }

  /** Discovers the cluster (GetServers) and warms the connection with one record. */
  async warmUp(value: Buffer): Promise<void> {
    await this.client.refresh();
    await this.client.produceBatch([value]);
  }

  produce(value: Buffer): Promise<number> {
    return this.producer.produce(value);
  }

  /** Lowest offset acknowledged by produce() (the read-back starts there). */
  firstOffset(): number {
    return this.producer.firstOffset();
  }

  /** Requests sent by produce() so far (records / requests = mean batch size). */
  requestsSent(): number {
    return this.producer.requests;
  }

  /** Records from `from` on, following the tail until the caller stops or `signal` aborts. */
  async *read(from: number, signal: AbortSignal): AsyncGenerator<ConsumedRecord> {
    if (this.opts.consumeFrom === 'follower') {
      yield* this.client.consumeStream(from, { signal });
      return;
    }
    const leader = (await this.client.servers()).find((s) => s.isLeader);
    if (leader === undefined) throw new UnavailableError('no leader to read from');
    this.leaderReader ??= new LogApiClient({ addr: leader.rpcAddr, callTimeoutMs: this.opts.callTimeoutMs });
    yield* this.leaderReader.consumeStream(from, { signal, maxBatchRecords: this.opts.maxBatchRecords });
  }

  /** Ends the streams and closes every channel. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.close()));
    this.leaderReader?.close();
    this.client.close();
  }

  private sendOnLane(values: Buffer[]): Promise<number> {
    let lane = this.lanes.find((l) => l.idle());
    if (lane === undefined) {
      lane = new StreamLane(this.client, this.opts.maxBatchRecords);
      this.lanes.push(lane);
    }
    return lane.send(values);
  }
}
