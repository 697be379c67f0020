/**
 * The streaming paths' shape: ProduceStream groups requests into few appends (within the batch
 * limits) and still answers each in order; a bad request ends the stream at its position;
 * ConsumeStream's batched writes keep order for a client that starts reading late.
 */
import { ChannelCredentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import net from 'node:net';
import { splitHostPort } from '../../src/config.js';
import { afterEach, describe, expect, it } from 'vitest';
import { LogClient, type ConsumeResponse, type ProduceRequest, type ProduceResponse } from '../../src/gen/log/v1/log.js';
import type { ConsumedRecord, ReadBatchLimits } from '../../src/replicated-log.js';
import { MemoryReplicatedLog } from '../../src/server/memory-replicated-log.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

/** Records every append's size and every record read. */
class CountingLog extends MemoryReplicatedLog {
  readonly appendSizes: number[] = [];
  recordsRead = 0;

  override append(values: readonly Buffer[]): Promise<number> {
    this.appendSizes.push(values.length);
    return super.append(values);
  }

  override async readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]> {
    const batch = await super.readBatch(from, limits);
    this.recordsRead += batch.length;
    return batch;
  }
}

let server: TestServer | undefined;
let raw: LogClient | undefined;

afterEach(async () => {
  raw?.close();
  await server?.close();
  server = undefined;
  raw = undefined;
});

async function start(log: CountingLog, limits: Parameters<typeof startTestServer>[0] = {}): Promise<LogClient> {
  server = await startTestServer({ ...limits, log });
  raw = new LogClient(server.addr, ChannelCredentials.createInsecure());
  return raw;
}

const one = (s: string): ProduceRequest => ({ record: { value: Buffer.from(s), offset: 0n, term: 0n, type: 0 }, records: [], producerId: '', sequence: 0n });
const many = (n: number, tag: string): ProduceRequest => ({
  record: undefined,
  records: Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`${tag}${i}`), offset: 0n, term: 0n, type: 0 })),
  producerId: '',
  sequence: 0n,
});

/** Writes every request, half-closes, and collects the responses and the final status. */
async function produceAll(client: LogClient, reqs: ProduceRequest[]): Promise<{ responses: ProduceResponse[]; error?: ServiceError }> {
  const stream = client.produceStream();
  const responses: ProduceResponse[] = [];
  const result = new Promise<{ responses: ProduceResponse[]; error?: ServiceError }>((resolve) => {
    stream.on('data', (r: ProduceResponse) => responses.push(r));
    stream.on('end', () => resolve({ responses }));
    stream.on('error', (error: ServiceError) => resolve({ responses, error }));
  });
  for (const r of reqs) stream.write(r);
  stream.end();
  return result;
}

describe('ProduceStream groups requests', () => {
  it('appends a burst of requests in fewer appends and answers each with its own offsets, in order', async () => {
    const log = new CountingLog();
    const client = await start(log);
    const reqs = Array.from({ length: 2000 }, (_, i) => (i % 10 === 9 ? many(3, `b${i}-`) : one(`r${i}`)));
    const { responses, error } = await produceAll(client, reqs);
    expect(error).toBeUndefined();
    expect(responses).toHaveLength(reqs.length);
    let next = 0n;
    for (const [i, res] of responses.entries()) {
      const count = reqs[i]!.record ? 1 : reqs[i]!.records.length;
      expect(res).toEqual({ offset: next, count, duplicate: false });
      next += BigInt(count);
    }
    expect(log.appendSizes.length).toBeLessThan(reqs.length);
    expect(log.appendSizes.reduce((a, b) => a + b, 0)).toBe(Number(next));
    expect((await log.read(2399)).value.toString()).toBe('b1999-2');
  });

  it('keeps each group within the batch limits', async () => {
    const log = new CountingLog();
    const client = await start(log, { limits: { maxBatchRecords: 7, maxBatchBytes: 64 } });
    const reqs = Array.from({ length: 300 }, (_, i) => one(`value-${String(i).padStart(4, '0')}`));
    const { responses, error } = await produceAll(client, reqs);
    expect(error).toBeUndefined();
    expect(responses.map((r) => Number(r.offset))).toEqual(reqs.map((_, i) => i));
    expect(Math.max(...log.appendSizes)).toBeLessThanOrEqual(6); // 6 x 10 bytes <= 64 < 7 x 10
  });

  it('a bad request ends the stream with INVALID_ARGUMENT after the responses of the requests before it', async () => {
    const log = new CountingLog();
    const client = await start(log);
    const both: ProduceRequest = { ...many(2, 'x'), record: one('y').record };
    const { responses, error } = await produceAll(client, [one('a'), one('b'), both, one('c')]);
    expect(responses.map((r) => r.offset)).toEqual([0n, 1n]);
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
  });
});

describe('ConsumeStream with a client that does not read at first', () => {
  // Known gap (see the API report): grpc-js completes a server write once Node's HTTP/2 layer has
  // queued it, before the client's flow-control window admits it, so a client that reads nothing
  // does not stop the server from reading the log. Only the order and completeness are asserted.
  it('delivers every record in order once the client reads', async () => {
    const log = new CountingLog();
    const client = await start(log);
    const total = 5_000;
    const value = Buffer.alloc(1024, 1);
    for (let i = 0; i < total; i += 1000) await log.append(Array.from({ length: 1000 }, () => value));
    const stream = client.consumeStream({ offset: 0n, maxBatchRecords: 0, maxBatchBytes: 0, maxWaitMs: 0, linearizable: false }, new Metadata());
    stream.on('error', () => undefined);
    const deadline = Date.now() + 10_000;
    while (log.recordsRead < 512) {
      if (Date.now() > deadline) throw new Error('the server did not start reading the log');
      await new Promise((r) => setTimeout(r, 10));
    }
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (m: ConsumeResponse) => {
        if (Number(m.record?.offset ?? -1) !== seen) reject(new Error(`expected offset ${seen}, got ${m.record?.offset}`));
        if (++seen === total) resolve();
      });
    });
    stream.cancel();
    expect(seen).toBe(total);
  });
});

describe('ConsumeStream behind a stalled connection', () => {
  // The server encodes every response into one reused buffer (src/server/grpc-server.ts). That is
  // safe because grpc-js copies a response into its framed message before the serializer runs
  // again (a call writes its next response only after the previous write completed, so the
  // danger is another call's response). Two streams share a connection that takes nothing (a
  // proxy stops passing the server's bytes): their responses wait in the server's HTTP/2 layer
  // while the other stream's are encoded, and every one must still arrive with its own bytes.
  it.each([
    ['one record per message', 0],
    ['batches', 50],
  ])('%s: every queued response of two streams arrives intact', async (_name, maxBatchRecords) => {
    const log = new CountingLog();
    server = await startTestServer({ log });
    const proxy = await StallingProxy.start(server.addr);
    raw = new LogClient(proxy.addr, ChannelCredentials.createInsecure());
    // 24 MiB per stream: more than loopback socket buffers and a stream's send budget (8 MiB plus
    // the batches read ahead) hold. Records of 16 KiB keep the message count (and the time) low.
    const total = 3_072;
    const valueOf = (i: number): Buffer => Buffer.concat([Buffer.from(`record ${i};`), Buffer.alloc(16 * 1024 - 16, i % 251)]);
    for (let i = 0; i < total; i += 256) await log.append(Array.from({ length: 256 }, (_, j) => valueOf(i + j)));
    const starts = [0, total / 2];
    const streams = starts.map((offset) =>
      raw!.consumeStream({ offset: BigInt(offset), maxBatchRecords, maxBatchBytes: 0, maxWaitMs: 0, linearizable: false }, new Metadata()),
    );
    // Wait until the server stops reading (its sends are stuck), then let the bytes through.
    let before = -1;
    const deadline = Date.now() + 10_000;
    while (log.recordsRead === 0 || log.recordsRead !== before) {
      if (Date.now() > deadline) throw new Error('the server kept reading behind a stalled connection');
      before = log.recordsRead;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(log.recordsRead).toBeLessThan(total); // both streams are stuck before their ends
    proxy.release();
    const want = total / 2;
    try {
      const seen = await Promise.all(
        streams.map(
          (stream, k) =>
            new Promise<number>((resolve, reject) => {
              let next = starts[k]!;
              stream.on('error', reject);
              stream.on('end', () => reject(new Error(`stream ${k} ended at ${next}`)));
              stream.on('data', (m: ConsumeResponse) => {
                for (const r of m.record ? [m.record] : m.records) {
                  if (Number(r.offset) !== next || !r.value.equals(valueOf(next))) reject(new Error(`stream ${k}, record ${next}: got offset ${r.offset}, value ${r.value.subarray(0, 16).toString()}`));
                  if (++next === starts[k]! + want) resolve(next - starts[k]!);
                }
              });
            }),
        ),
      );
      expect(seen).toEqual([want, want]);
    } finally {
      for (const stream of streams) stream.cancel();
      proxy.close();
    }
  });
});

const passBeforeStallBytes = 64 * 1024;

/** Forwards TCP to `target`; from it, only the first `passBeforeStallBytes` until `release()`. */
class StallingProxy {
  private readonly sockets = new Set<net.Socket>();
  private readonly upstreams: net.Socket[] = [];
  private readonly listener = net.createServer((down) => this.accept(down));
  private released = false;
  addr = '';

  private constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  static async start(target: string): Promise<StallingProxy> {
    const hp = splitHostPort(target);
    if (hp === null) throw new Error(`not host:port: ${target}`);
    const proxy = new StallingProxy(hp.host, hp.port);
    await new Promise<void>((resolve) => proxy.listener.listen(0, '127.0.0.1', resolve));
    proxy.addr = `127.0.0.1:${(proxy.listener.address() as net.AddressInfo).port}`;
    return proxy;
  }

  release(): void {
    this.released = true;
    for (const up of this.upstreams) up.resume();
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.listener.close();
  }

  private accept(down: net.Socket): void {
    const up = net.connect(this.port, this.host);
    this.upstreams.push(up);
    for (const s of [down, up]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
    }
    down.pipe(up);
    // The connection's set-up and the first bytes of the stream pass, then nothing until release.
    let passed = 0;
    up.on('data', (chunk: Buffer) => {
      down.write(chunk);
      passed += chunk.length;
      if (passed >= passBeforeStallBytes && !this.released) up.pause();
    });
  }
}
