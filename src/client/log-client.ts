/**
 * A small client of the log.v1 API, used by the CLI and tests. Produce uses the batch form by
 * default (one request, many records); streams are async iterables with bounded buffering.
 * This is the per-node building block: leader routing, follower reads and retries are in
 * ReplogClient (replog-client.ts).
 */
import { errorMessage, asError } from '../errors.js';
import { ChannelCredentials, Metadata, makeGenericClientConstructor, status as Status, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { decodeConsumeResponse, encodeProduceRequest } from '../codec/hot-codec.js';
import {
  LogService,
  type LogClient,
  type ConsumeRequest,
  type ConsumeResponse,
  type GetServersRequest,
  type GetServersResponse,
  type ProduceRequest, type ProduceResponse, type Record as WireRecord } from '../gen/log/v1/log.js';
import { batchRequest, splitBatches, toWire } from './produce-pipeline.js';
import { StreamProducer } from './stream-producer.js';
import type { ConsumedRecord, ProducerRef, ServerInfo } from '../replicated-log.js';

/**
 * The generated LogClient with the hand-written codecs of src/codec/hot-codec.ts on the hot
 * messages (produce requests out, consume responses in; the same bytes and messages as the
 * generated ones, values received as views of the message instead of copies).
 */
export const FastLogClient = makeGenericClientConstructor(
  {
    ...LogService,
    produce: { ...LogService.produce, requestSerialize: encodeProduceRequest },
    produceStream: { ...LogService.produceStream, requestSerialize: encodeProduceRequest },
    consume: { ...LogService.consume, responseDeserialize: decodeConsumeResponse },
    consumeStream: { ...LogService.consumeStream, responseDeserialize: decodeConsumeResponse },
  },
  'log.v1.Log',
) as unknown as typeof LogClient;

/**
 * Channel options of every LogApiClient. The flow-control window is what the server may send
 * ahead of the client reading: HTTP/2's default 64 KiB took 16 window updates (each a round trip
 * through both event loops) per 1 MiB batch, and a 4 MiB window consumed 1.5-1.6x faster in an
 * A/B run (docs/performance.md). It is also the most a connection buffers for a slow reader.
 */
export const CLIENT_CHANNEL_DEFAULTS: Readonly<Record<string, number>> = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  'grpc-node.flow_control_window': 4 * 1024 * 1024,
};

/** Initial metadata of ConsumeStream with the log's highest offset (see src/server/consume-stream.ts). */
export const HIGH_OFFSET_METADATA_KEY = 'replog-high-offset';

export interface ClientTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Name to verify the server certificate against when it differs from the address's host. */
  serverName?: string;
}

export interface LogApiClientOptions {
  /** `host:port` of a node. */
  addr: string;
  tls?: ClientTls;
  /** Deadline of each unary call. */
  callTimeoutMs?: number;
  /** Extra grpc-js channel options (e.g. reconnect backoff). */
  channelOptions?: Record<string, string | number>;
}

export interface ProducedBatch {
  /** Offset of the first record. */
  offset: number;
  count: number;
}

export interface ProduceStreamOptions {
  /** Records per request (1 = proglog form, one record per message). */
  batchRecords?: number;
  batchBytes?: number;
  /** Requests sent but not yet answered. */
  inflightMax?: number;
}

export interface ConsumeStreamOptions {
  /** Stop at the log's highest offset as of the start instead of following the tail. */
  untilHigh?: boolean;
  /** Stop after this offset (wins over untilHigh; nothing is read when it is below the start). */
  untilOffset?: number;
  /** Called with the server's high offset when untilHigh reads it. */
  onHighOffset?: (high: number) => void;
  /** Records per response; 0 = one record per message (proglog form). */
  maxBatchRecords?: number;
  /** Confirm with the leader (ReadIndex) before the first record. */
  linearizable?: boolean;
  signal?: AbortSignal;
}

export interface ConsumeOptions {
  /** Wait up to this long for an offset the node does not have yet (server maximum 60 s). */
  maxWaitMs?: number;
  /** Confirm with the leader (ReadIndex) that the node is up to date before reading. */
  linearizable?: boolean;
}

/** Extra deadline on top of max_wait_ms, so the server's OUT_OF_RANGE arrives before the deadline. */
const waitGraceMs = 5_000;

export class LogApiClient {
  readonly raw: LogClient;
  private readonly callTimeoutMs: number;
  private readonly addr: string;
  private streamProducer: StreamProducer | undefined;

  constructor(opts: LogApiClientOptions) {
    const creds = opts.tls
      ? ChannelCredentials.createSsl(opts.tls.ca, opts.tls.key ?? null, opts.tls.cert ?? null)
      : ChannelCredentials.createInsecure();
    const channelOptions: Record<string, string | number> = { ...CLIENT_CHANNEL_DEFAULTS };
    if (opts.tls?.serverName) channelOptions['grpc.ssl_target_name_override'] = opts.tls.serverName;
    Object.assign(channelOptions, opts.channelOptions);
    this.raw = new FastLogClient(opts.addr, creds, channelOptions);
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    this.addr = opts.addr;
  }

  /**
   * Appends values in one batch request; resolves with the first offset. With `producer`, as an
   * idempotent producer's request (a retry is answered with the original's offset).
   */
  async produce(values: readonly Buffer[], producer?: ProducerRef): Promise<number> {
    const res = await this.unary<ProduceRequest, ProduceResponse>((req, md, o, cb) => this.raw.produce(req, md, o, cb), batchRequest(values, producer));
    return Number(res.offset);
  }

  /**
   * produce() as a request on this client's long-lived ProduceStream (opened on first use): the
   * same answer and errors, at a fraction of a unary call's cost (src/client/stream-producer.ts).
   * An answer that takes longer than the call timeout fails with an unknown outcome.
   */
  produceOnStream(values: readonly Buffer[], producer?: ProducerRef): Promise<number> {
    this.streamProducer ??= new StreamProducer(() => this.raw.produceStream(), this.addr, this.callTimeoutMs);
    return this.streamProducer.produce(values, producer);
  }

  /** Appends one record in proglog's form (field 1). */
  async produceOne(value: Buffer): Promise<number> {
    const res = await this.unary<ProduceRequest, ProduceResponse>((req, md, o, cb) => this.raw.produce(req, md, o, cb), {
      record: toWire(value),
      records: [],
      producerId: '',
      sequence: 0n,
    });
    return Number(res.offset);
  }

  /**
   * Reads one record. With `maxWaitMs` the server waits that long for an offset it does not have
   * yet (the call's deadline is extended to cover it); with `linearizable` it confirms with the
   * leader first that it is up to date.
   */
  async consume(offset: number, opts: ConsumeOptions = {}): Promise<ConsumedRecord> {
    const maxWaitMs = opts.maxWaitMs ?? 0;
    const req: ConsumeRequest = { offset: BigInt(offset), maxBatchRecords: 0, maxBatchBytes: 0, maxWaitMs, linearizable: opts.linearizable ?? false };
    const timeoutMs = Math.max(this.callTimeoutMs, maxWaitMs + waitGraceMs);
    const res = await this.unary<ConsumeRequest, ConsumeResponse>((r, md, o, cb) => this.raw.consume(r, md, o, cb), req, timeoutMs);
    if (!res.record) throw new Error('the server answered Consume without a record');
    return fromWire(res.record);
  }

  async servers(timeoutMs?: number): Promise<ServerInfo[]> {
    const res = await this.unary<GetServersRequest, GetServersResponse>((req, md, o, cb) => this.raw.getServers(req, md, o, cb), {}, timeoutMs);
    return res.servers.map((s) => ({ id: s.id, rpcAddr: s.rpcAddr, isLeader: s.isLeader }));
  }

  /**
   * Records from `offset` on. Follows the tail until `signal` aborts, or with `untilHigh` stops
   * after the highest offset the log held when the stream started (nothing to read: no records).
   */
  async *consumeStream(offset: number, opts: ConsumeStreamOptions = {}): AsyncGenerator<ConsumedRecord> {
    for await (const batch of this.consumeBatches(offset, opts)) yield* batch;
  }

  /** `consumeStream` a server response at a time: each batch in offset order, never empty. */
  async *consumeBatches(offset: number, opts: ConsumeStreamOptions = {}): AsyncGenerator<ConsumedRecord[]> {
    if (opts.untilOffset !== undefined && opts.untilOffset < offset) return;
    const stream = this.raw.consumeStream({ offset: BigInt(offset), maxBatchRecords: opts.maxBatchRecords ?? 1000, maxBatchBytes: 0, maxWaitMs: 0, linearizable: opts.linearizable ?? false });
    const onAbort = (): void => stream.cancel();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let high = opts.untilOffset ?? Infinity;
      if (opts.untilHigh && opts.untilOffset === undefined) {
        high = await highOffsetOf(stream);
        opts.onHighOffset?.(high);
        if (high < offset) return;
      }
      for await (const res of stream as AsyncIterable<{ record?: WireRecord; records: WireRecord[] }>) {
        const records = res.record ? [res.record] : res.records;
        const batch: ConsumedRecord[] = [];
        let done = false;
        for (const r of records) {
          const rec = fromWire(r);
          batch.push(rec);
          if (rec.offset >= high) {
            done = true;
            break;
          }
        }
        if (batch.length > 0) yield batch;
        if (done) return;
      }
    } catch (err) {
      if (!opts.signal?.aborted) throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      stream.cancel();
    }
  }

  /**
   * Pipelines groups of values over ProduceStream: each group is sent as soon as it arrives, split
   * into requests of at most `batchRecords` records (1 = proglog's one record per message). Yields
   * each request's offsets in order; at most `inflightMax` requests are unanswered at any time.
   */
  async *produceStream(groups: AsyncIterable<readonly Buffer[]> | Iterable<readonly Buffer[]>, opts: ProduceStreamOptions = {}): AsyncGenerator<ProducedBatch> {
    const batchRecords = opts.batchRecords ?? 1000;
    const batchBytes = opts.batchBytes ?? 4 * 1024 * 1024;
    const inflightMax = opts.inflightMax ?? 16;
    const stream = this.raw.produceStream();
    const responses = new ResponseQueue(stream);
    let inflight = 0;
    try {
      for await (const group of groups) {
        for (const batch of splitBatches(group, batchRecords, batchBytes)) {
          const req: ProduceRequest = batchRecords === 1
            ? { record: toWire(batch[0]!), records: [], producerId: '', sequence: 0n }
            : { record: undefined, records: batch.map(toWire), producerId: '', sequence: 0n };
          inflight++;
          if (!stream.write(req)) await responses.drained();
          while (inflight >= inflightMax) {
            yield await responses.next();
            inflight--;
          }
        }
      }
      stream.end();
      while (inflight > 0) {
        yield await responses.next();
        inflight--;
      }
    } finally {
      stream.cancel();
    }
  }

  close(): void {
    this.streamProducer?.close();
    this.raw.close();
  }

  private unary<Req, Res>(
    call: (req: Req, md: Metadata, opts: { deadline: Date }, cb: (err: ServiceError | null, res: Res) => void) => unknown,
    req: Req,
    timeoutMs = this.callTimeoutMs,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      call(req, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
  }
}

/** Responses of a ProduceStream, read one at a time; the stream's error rejects the next read. */
class ResponseQueue {
  private readonly buffered: ProducedBatch[] = [];
  private waiter: { resolve: (b: ProducedBatch) => void; reject: (e: unknown) => void } | undefined;
  private failure: Error | undefined;

  constructor(private readonly stream: ClientDuplexStream<ProduceRequest, ProduceResponse>) {
    stream.on('data', (res: ProduceResponse) => {
      const batch = { offset: Number(res.offset), count: Math.max(1, res.count) };
      if (this.waiter) {
        this.waiter.resolve(batch);
        this.waiter = undefined;
      } else {
        this.buffered.push(batch);
      }
    });
    const fail = (err: unknown): void => {
      this.failure ??= asError(err);
      this.waiter?.reject(this.failure);
      this.waiter = undefined;
    };
    stream.on('error', fail);
    stream.on('end', () => fail(new Error('the server ended the stream before answering every request')));
  }

  next(): Promise<ProducedBatch> {
    const b = this.buffered.shift();
    if (b) return Promise.resolve(b);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('error', done);
    });
  }
}

/** Waits for the stream's initial metadata and reads the server's high offset from it. */
function highOffsetOf(stream: ClientReadableStream<ConsumeResponse>): Promise<number> {
  return new Promise((resolve, reject) => {
    stream.once('metadata', (md: Metadata) => {
      const v = md.get(HIGH_OFFSET_METADATA_KEY)[0];
      if (v === undefined) reject(new Error(`the server sent no ${HIGH_OFFSET_METADATA_KEY} metadata`));
      else resolve(Number(v));
    });
    stream.once('error', reject);
  });
}

function fromWire(r: WireRecord): ConsumedRecord {
  return { offset: Number(r.offset), value: r.value, term: Number(r.term) };
}

/** One line describing a failed call: `OUT_OF_RANGE: offset 9 is not yet in the log ...`. */
export function describeRpcError(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && 'details' in err) {
    const e = err as ServiceError;
    return `${codeName(e.code)}: ${e.details}`;
  }
  return errorMessage(err);
}

function codeName(code: number): string {
  return (Status as Record<number, string | undefined>)[code] ?? `code ${code}`;
}
