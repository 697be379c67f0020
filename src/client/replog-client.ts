/**
 * ReplogClient: the cluster-aware client. It discovers the members with GetServers from any of
 * its bootstrap addresses, sends produces to the leader, spreads reads over followers (falling
 * back to the leader), follows leader changes (`replog-leader` trailer, GetServers refresh) and
 * retries with bounded exponential backoff.
 *
 * Retry rule (ARCHITECTURE 3a rule 6): a produce is retried automatically only when it provably
 * never left this process (no connection to the node). Once sent, an UNAVAILABLE or a deadline
 * means "outcome unknown": the records may be appended, so the call fails with
 * OutcomeUnknownError unless the caller opted in to at-least-once with `retryUnknown: true`.
 * Reads are idempotent and always retried (on another node).
 *
 * Idempotent producer (default; `idempotent: false` turns it off): the client is a producer with
 * a random id, each request carries its sequences (producer-sequencer.ts), so a produce whose
 * outcome is unknown is retried safely: the leader answers a retry of an appended request with
 * the original's offset. Exactly once per call, with retries after failover.
 */
import type { ChannelInterface as Channel, connectivityState as ConnectivityState } from '@grpc/grpc-js';
import { ClosedError, InvalidArgumentError, OutcomeUnknownError, UnavailableError, errorMessage } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { ConsumedRecord, ServerInfo } from '../replicated-log.js';
import { awaitReady } from './channel-ready.js';
import { LogApiClient, type ClientTls, type ConsumeOptions } from './log-client.js';
import { ProducePipeline } from './produce-pipeline.js';
import { ProducerSequencer, type Ticket } from './producer-sequencer.js';
import { ProduceStreamRunner, type ProduceStreamOptions, type ProduceStreamResult } from './produce-stream-runner.js';
import { resumableConsume, resumableConsumeBatches, type ReadRouting, type ResumableConsumeOptions } from './resumable-consume.js';
import { CoalescingProducer, defaultCoalescingOptions, type CoalescingOptions } from './coalescing-producer.js';
import { RetryBudget, defaultRetryPolicy, type RetryPolicy } from './retry-budget.js';
import { classifyProduceFailure, isOutOfRange, isReadRetryable, leaderHint, producerProblem, type ProduceFailure } from './rpc-status.js';
import { Topology, isDialable } from './topology.js';
import { totalLength } from '../util/bytes.js';

export interface ReplogClientOptions {
  /** Bootstrap addresses (`host:port`): any node(s) of the cluster. */
  addrs: readonly string[];
  tls?: ClientTls;
  /** Deadline of each unary call, and the longest a produce on a stream waits for its answer (it waits for the commit). Default 30 s. */
  callTimeoutMs?: number;
  /** How long a produce waits for a connection before trying elsewhere. Default 3 s. */
  connectTimeoutMs?: number;
  /** Deadline of GetServers on one node during discovery. Default 3 s. */
  discoveryTimeoutMs?: number;
  /** Background refresh of the member list; 0 = only on errors. Default 30 s. */
  refreshIntervalMs?: number;
  /** A node that failed is avoided for this long while others are available. Default 5 s. */
  suspectMs?: number;
  retry?: Partial<RetryPolicy>;
  /** At-least-once: retry produces whose outcome is unknown (may duplicate records). Default false. */
  retryUnknown?: boolean;
  /**
   * Idempotent producer (docs/api.md): retries never duplicate, and produces whose outcome is
   * unknown are retried. Default true; false = proglog behaviour (see retryUnknown).
   */
  idempotent?: boolean;
  /**
   * produce() of single records coalesces concurrent calls into batch requests (Kafka's linger 0:
   * records wait only while `maxRequestsInflight` requests are out). Default on with
   * defaultCoalescingOptions; false = one request per produce() call.
   */
  coalesce?: Partial<CoalescingOptions> | false;
  /**
   * How produce() and produceBatch() reach the leader: 'stream' sends each request on one
   * long-lived ProduceStream per node, 'unary' makes one Produce call per request. Default:
   * 'stream' for the idempotent producer, 'unary' with `idempotent: false`. A stream message
   * costs grpc-js a fraction of a unary call (about half the latency at 1 in flight,
   * docs/performance.md), but a request that fails on the stream ends it, and the requests in
   * flight beside it get an unknown outcome: the idempotent producer resends those safely (as
   * unary calls), a plain producer would fail them or, with retryUnknown, append them twice.
   */
  produceOver?: 'stream' | 'unary';
  /**
   * With `produceOver: 'stream'`, a request whose values add up to more than this many bytes is
   * sent as a unary call instead. A message above the server's limit ends the whole stream with a
   * status that names no request, so every request in flight on it would get an unknown outcome;
   * a unary call gets RESOURCE_EXHAUSTED for that request alone. Keep it at or below the server's
   * batch limit (`--max-batch-bytes`, 8 MiB by default). Default 4 MiB: the client's own batches
   * stay far below it, and a request this large makes the cost of a unary call negligible.
   */
  streamMaxRequestBytes?: number;
  /** Jitter source in [0, 1) (tests pass a seeded one). Default Math.random. */
  random?: () => number;
  logger?: Logger;
}

export interface ProduceOptions {
  /** Overrides the client's `retryUnknown` for this call. */
  retryUnknown?: boolean;
}

export type ConsumeStreamOptions = ResumableConsumeOptions;
export type { ConsumeOptions };
export type { ProduceStreamOptions, ProduceStreamResult };

type Attempt<T> = { ok: true; value: T } | { ok: false; kind: ProduceFailure; err: unknown };

/** See `streamMaxRequestBytes`. */
export const DEFAULT_STREAM_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Reconnect quickly after a node comes back (grpc-js's default backoff grows to 120 s). */
const channelOptions = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 2_000 };

export class ReplogClient {
  private readonly nodes = new Map<string, LogApiClient>();
  private readonly topology: Topology;
  private readonly retryPolicy: RetryPolicy;
  private readonly logger: Logger;
  private refreshing: Promise<void> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly sequencer = new ProducerSequencer();
  private readonly coalescer: CoalescingProducer | undefined;
  /** First attempts of produces go on the node's ProduceStream (see `produceOver`). */
  private readonly produceOnStream: boolean;
  private readonly streamMaxRequestBytes: number;
  private closed = false;

  constructor(private readonly opts: ReplogClientOptions) {
    if (opts.addrs.length === 0) throw new InvalidArgumentError('ReplogClient needs at least one address');
    const bad = opts.addrs.find((a) => !isDialable(a));
    if (bad !== undefined) throw new InvalidArgumentError(`expected HOST:PORT, got "${bad}"`);
    this.topology = new Topology(opts.addrs, opts.suspectMs ?? 5_000);
    this.retryPolicy = { ...defaultRetryPolicy, ...opts.retry };
    this.logger = (opts.logger ?? silentLogger()).child({ component: 'client' });
    this.produceOnStream = (opts.produceOver ?? (opts.idempotent === false ? 'unary' : 'stream')) === 'stream';
    this.streamMaxRequestBytes = opts.streamMaxRequestBytes ?? DEFAULT_STREAM_MAX_REQUEST_BYTES;
    if (opts.coalesce !== false) this.coalescer = new CoalescingProducer((values) => this.produceBatch(values), { ...defaultCoalescingOptions, ...opts.coalesce });
  }

  /**
   * Appends one record; resolves with its offset. Concurrent calls share batch requests (see
   * `coalesce`); a call with options of its own is sent alone.
   */
  produce(value: Buffer | string, opts?: ProduceOptions): Promise<number> {
    const buf = typeof value === 'string' ? Buffer.from(value) : value;
    if (this.coalescer && opts === undefined) {
      this.checkOpen();
      return this.coalescer.produce(buf);
    }
    return this.produceBatch([buf], opts);
  }

  /** Appends values in one batch request (consecutive offsets); resolves with the first offset. */
  async produceBatch(values: readonly Buffer[], opts: ProduceOptions = {}): Promise<number> {
    this.checkOpen();
    if (this.opts.idempotent !== false) return this.produceIdempotent(values);
    const retryUnknown = opts.retryUnknown ?? this.opts.retryUnknown ?? false;
    const budget = this.budget('produce');
    let first = true;
    while (budget.next()) {
      const attempt = await this.tryProduce(values, undefined, first);
      first = false;
      if (attempt.ok) return attempt.value;
      if (attempt.kind === 'final' || (attempt.kind === 'unknown' && !retryUnknown)) throw attempt.err;
      if (attempt.kind === 'unknown') this.logger.warn({ err: errorMessage(attempt.err) }, 'retrying a produce whose outcome is unknown (retryUnknown)');
      await budget.failed(attempt.err);
    }
    throw budget.exhausted();
  }

  /**
   * Pipelines groups of values over ProduceStream to the leader, reconnecting to the new leader
   * when the stream fails. Yields one result per request in order: `ok` with its offsets, or
   * `unknown` for requests in flight when a stream failed (resent instead with `retryUnknown`).
   */
  produceStream(groups: AsyncIterable<readonly Buffer[]> | Iterable<readonly Buffer[]>, opts: ProduceStreamOptions = {}): AsyncGenerator<ProduceStreamResult> {
    this.checkOpen();
    const runner = new ProduceStreamRunner(
      {
        open: (singleRecord) => this.openPipeline(singleRecord),
        failed: (addr, err) => this.streamFailed(addr, err),
        failuresMax: this.retryPolicy.maxAttempts,
      },
      { ...opts, retryUnknown: opts.retryUnknown ?? this.opts.retryUnknown ?? false, idempotent: this.opts.idempotent !== false },
    );
    return runner.run(groups);
  }

  /**
   * Reads one record from a follower (the leader when a follower does not have it yet). With
   * `maxWaitMs` the follower waits for a record it does not have yet (read-your-writes after a
   * produce); with `linearizable` it confirms with the leader first (ReadIndex).
   */
  async consume(offset: number, opts: ConsumeOptions = {}): Promise<ConsumedRecord> {
    this.checkOpen();
    const budget = this.budget('consume');
    while (budget.next()) {
      let addr: string | undefined;
      try {
        const target = await this.readTarget();
        addr = target.addr;
        return await target.node.consume(offset, opts);
      } catch (err) {
        if (isOutOfRange(err) && addr !== undefined) return this.consumeFromLeader(offset, addr, err, opts);
        if (!isReadRetryable(err)) throw err;
        if (addr !== undefined) await this.nodeFailed(addr, err);
        await budget.failed(err);
      }
    }
    throw budget.exhausted();
  }

  /**
   * Records from `offset` on, from a follower; follows the tail until `signal` aborts, or with
   * `untilHigh` stops at the serving node's highest offset when the stream started. When the node
   * fails the stream resumes on another one at the next offset: no gaps, no duplicates.
   */
  consumeStream(offset: number, opts: ConsumeStreamOptions = {}): AsyncGenerator<ConsumedRecord> {
    this.checkOpen();
    return resumableConsume(this.readRouting(), offset, { maxBatchRecords: 1000, ...opts });
  }

  /**
   * `consumeStream` a batch at a time (as the server sent them, up to 1000 records each): the
   * cheaper way to read many records, one await per batch instead of one per record.
   */
  consumeBatches(offset: number, opts: ConsumeStreamOptions = {}): AsyncGenerator<ConsumedRecord[]> {
    this.checkOpen();
    return resumableConsumeBatches(this.readRouting(), offset, { maxBatchRecords: 1000, ...opts });
  }

  private readRouting(): ReadRouting {
    return {
      readTarget: () => this.readTarget(),
      nodeFailed: (addr: string, err: unknown) => this.nodeFailed(addr, err),
      budget: (operation: string) => this.budget(operation),
    };
  }

  /** The members as a node reports them now (a fresh GetServers). */
  async servers(): Promise<ServerInfo[]> {
    await this.refresh();
    return this.topology.servers();
  }

  /** The leader's address as last learned, if any. */
  leaderAddr(): string | undefined {
    return this.topology.leaderAddr();
  }

  /**
   * For callers with their own generated stubs: the channel to use for `method` (a log.v1 method
   * name such as `produce`, `ConsumeStream` or `/log.v1.Log/Produce`): produce -> the leader,
   * consume -> a follower. Pass it as `new LogClient(addr, credentials, { channelOverride: channel })`;
   * do not close such stubs (the channel belongs to this client). No retries happen there.
   */
  async pickChannel(method: string): Promise<{ addr: string; channel: Channel }> {
    this.checkOpen();
    const name = method.replace(/^\/?log\.v1\.Log\//, '').toLowerCase();
    const addr = name === 'produce' || name === 'producestream' ? await this.leaderTarget() : (await this.readTarget()).addr;
    return { addr, channel: this.node(addr).raw.getChannel() };
  }

  /** Diagnostics: the grpc-js connectivity state of the channel to `addr` (undefined: no channel). */
  connectivity(addr: string): ConnectivityState | undefined {
    return this.nodes.get(addr)?.raw.getChannel().getConnectivityState(false);
  }

  /** Asks the members again (one GetServers in flight at a time). */
  refresh(): Promise<void> {
    this.checkOpen();
    this.refreshing ??= this.discover().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Closes every channel and stops the refresh timer. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.refreshTimer);
    for (const node of this.nodes.values()) node.close();
    this.nodes.clear();
  }

  /**
   * produceBatch as an idempotent producer: every retry carries the same sequences. A gap refusal
   * (a later request overtook an earlier one after a failover) waits for the earlier requests and
   * resends; sequences that can no longer be accepted are renewed (producer-sequencer.ts).
   */
  private async produceIdempotent(values: readonly Buffer[]): Promise<number> {
    // Sequences are taken right before the first send, so concurrent calls leave in sequence order.
    let ticket: Ticket | undefined;
    const take = (): Ticket => (ticket ??= this.sequencer.assign(values.length));
    let appended = false;
    // An attempt that may have been appended: if the retries run out, the caller must learn that
    // the outcome is unknown (rule 6), not that the produce failed.
    let unknown: OutcomeUnknownError | undefined;
    try {
      const budget = this.budget('produce');
      let first = true;
      while (budget.next()) {
        const attempt = await this.tryProduce(values, take, first);
        first = false;
        if (attempt.ok) {
          appended = true;
          return attempt.value;
        }
        const problem = producerProblem(attempt.err);
        if (ticket && (problem === 'gap' || problem === 'unknown-producer')) {
          // Refused by a leader that confirmed its leadership first (dedup-appender.ts): an
          // earlier attempt of these sequences can no longer commit, so nothing is unknown.
          unknown = undefined;
          ticket = await this.resequence(ticket, problem);
          continue;
        }
        if (attempt.kind === 'final') throw unknown ? new OutcomeUnknownError(unknown.addr, values.length, attempt.err, unknown.leaderAddr) : attempt.err;
        if (attempt.err instanceof OutcomeUnknownError) unknown = attempt.err;
        await budget.failed(attempt.err);
      }
      const exhausted = budget.exhausted();
      if (unknown) throw new OutcomeUnknownError(unknown.addr, values.length, exhausted, unknown.leaderAddr);
      throw exhausted;
    } finally {
      if (ticket) this.sequencer.settle(ticket, appended);
    }
  }

  /** After a gap refusal: wait for the earlier requests; new sequences when these cannot be used. */
  private async resequence(ticket: Ticket, problem: 'gap' | 'unknown-producer'): Promise<Ticket> {
    if (problem === 'gap') await this.sequencer.predecessors(ticket);
    if (problem === 'unknown-producer' || this.sequencer.stale(ticket)) return this.sequencer.renew(ticket);
    return ticket;
  }

  /**
   * One attempt. `onStream`: on the node's ProduceStream (first attempts, unless produceOver is
   * 'unary'); retries are unary calls, so the requests a failed stream left unknown do not end
   * the next stream too (a gap refusal, say, while the retries arrive out of order).
   */
  private async tryProduce(values: readonly Buffer[], ticket: (() => Ticket) | undefined, onStream: boolean): Promise<Attempt<number>> {
    let addr: string;
    try {
      addr = await this.leaderTarget();
    } catch (err) {
      return { ok: false, kind: isReadRetryable(err) ? 'not-sent' : 'final', err };
    }
    const node = this.node(addr);
    if (!(await awaitReady(node.raw.getChannel(), this.connectTimeoutMs()))) {
      const err = new UnavailableError(`cannot connect to ${addr}`);
      await this.nodeFailed(addr, err);
      return { ok: false, kind: 'not-sent', err };
    }
    try {
      const producer = ticket?.();
      const offset = onStream && this.produceOnStream && totalLength(values) <= this.streamMaxRequestBytes ? await node.produceOnStream(values, producer) : await node.produce(values, producer);
      return { ok: true, value: offset };
    } catch (err) {
      const kind = classifyProduceFailure(err);
      if (kind === 'final') return { ok: false, kind, err };
      await this.learnLeader(addr, err);
      if (kind === 'not-sent') return { ok: false, kind, err };
      return { ok: false, kind, err: new OutcomeUnknownError(addr, values.length, err, leaderHint(err)) };
    }
  }

  private async openPipeline(singleRecord: boolean): Promise<ProducePipeline> {
    const budget = this.budget('produceStream');
    while (budget.next()) {
      try {
        const addr = await this.leaderTarget();
        const node = this.node(addr);
        if (await awaitReady(node.raw.getChannel(), this.connectTimeoutMs())) {
          return new ProducePipeline(addr, node.raw.produceStream(), singleRecord);
        }
        const err = new UnavailableError(`cannot connect to ${addr}`);
        await this.nodeFailed(addr, err);
        await budget.failed(err);
      } catch (err) {
        if (!isReadRetryable(err)) throw err;
        await budget.failed(err);
      }
    }
    throw budget.exhausted();
  }

  private async streamFailed(addr: string, err: unknown): Promise<void> {
    if (classifyProduceFailure(err) === 'not-sent') await this.nodeFailed(addr, err);
    else await this.learnLeader(addr, err);
  }

  private async consumeFromLeader(offset: number, triedAddr: string, err: unknown, opts: ConsumeOptions): Promise<ConsumedRecord> {
    const leader = this.topology.leaderAddr();
    if (leader === undefined || leader === triedAddr) throw err;
    // The follower already waited: the leader answers at once.
    return this.node(leader).consume(offset, { ...opts, maxWaitMs: 0 });
  }

  /** The node a produce goes to (discovering the cluster first if needed). */
  private async leaderTarget(): Promise<string> {
    await this.settled();
    const addr = this.topology.produceTarget();
    if (addr === undefined) throw new UnavailableError('no node of the cluster is known');
    return addr;
  }

  private async readTarget(): Promise<{ addr: string; node: LogApiClient }> {
    await this.settled();
    const addr = this.topology.readTarget();
    if (addr === undefined) throw new UnavailableError('no node of the cluster is known');
    return { addr, node: this.node(addr) };
  }

  /** Waits for a refresh in flight; discovers the cluster if it never was. */
  private async settled(): Promise<void> {
    this.checkOpen();
    if (this.refreshing) await this.refreshing.catch(() => undefined);
    if (!this.topology.isDiscovered()) await this.refresh();
  }

  /** A node failed (cannot connect, or a read failed): avoid it and ask the members again. */
  private async nodeFailed(addr: string, err: unknown): Promise<void> {
    this.logger.debug({ addr, err: errorMessage(err) }, 'node failed');
    this.topology.markDown(addr);
    this.topology.forgetLeader(addr);
    await this.refreshQuietly();
  }

  /** A sent produce failed: take the leader the server named, or ask the members again. */
  private async learnLeader(addr: string, err: unknown): Promise<void> {
    const hint = leaderHint(err);
    if (hint !== undefined && hint !== addr && isDialable(hint)) {
      this.topology.setLeader(hint);
      return;
    }
    this.topology.forgetLeader(addr);
    await this.refreshQuietly();
  }

  private async refreshQuietly(): Promise<void> {
    if (this.closed) return;
    await this.refresh().catch((err: unknown) => this.logger.debug({ err: errorMessage(err) }, 'member list refresh failed'));
  }

  private async discover(): Promise<void> {
    const order = this.topology.discoveryOrder();
    let last: unknown;
    for (const addr of order) {
      try {
        const servers = await this.node(addr).servers(this.opts.discoveryTimeoutMs ?? 3_000);
        this.topology.update(servers, addr);
        this.topology.markUp(addr);
        this.pruneNodes();
        this.startRefreshTimer();
        return;
      } catch (err) {
        if (!isReadRetryable(err)) throw err;
        last = err;
        this.topology.markDown(addr);
      }
    }
    throw new UnavailableError(`no node answered GetServers (tried ${order.join(', ')}): ${errorMessage(last)}`);
  }

  private node(addr: string): LogApiClient {
    let node = this.nodes.get(addr);
    if (node === undefined) {
      node = new LogApiClient({ addr, tls: this.opts.tls, callTimeoutMs: this.opts.callTimeoutMs ?? 30_000, channelOptions });
      this.nodes.set(addr, node);
    }
    return node;
  }

  /** Closes channels to addresses that are no longer members (the pool stays bounded). */
  private pruneNodes(): void {
    const known = this.topology.known();
    for (const [addr, node] of this.nodes) {
      if (known.has(addr)) continue;
      node.close();
      this.nodes.delete(addr);
    }
  }

  private startRefreshTimer(): void {
    const everyMs = this.opts.refreshIntervalMs ?? 30_000;
    if (this.refreshTimer !== undefined || everyMs <= 0 || this.closed) return;
    this.refreshTimer = setInterval(() => void this.refreshQuietly(), everyMs);
    this.refreshTimer.unref();
  }

  private budget(operation: string): RetryBudget {
    return new RetryBudget(operation, this.retryPolicy, this.opts.random ?? Math.random);
  }

  private connectTimeoutMs(): number {
    return this.opts.connectTimeoutMs ?? 3_000;
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError('client');
  }
}

