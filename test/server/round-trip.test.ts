import { ChannelCredentials, Metadata, status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { LogClient, type ConsumeResponse, type ProduceResponse } from '../../src/gen/log/v1/log.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';
import { HealthClient } from './health-client.js';

let server: TestServer;
let raw: LogClient;
let client: LogApiClient;

beforeEach(async () => {
  server = await startTestServer();
  raw = new LogClient(server.addr, ChannelCredentials.createInsecure());
  client = new LogApiClient({ addr: server.addr });
});

afterEach(async () => {
  raw.close();
  client.close();
  await server.close();
});

const rec = (s: string) => ({ value: Buffer.from(s), offset: 0n, term: 0n, type: 0 });

function produceRaw(req: Parameters<LogClient['produce']>[0]): Promise<ProduceResponse> {
  return new Promise((resolve, reject) => raw.produce(req, new Metadata(), { deadline: Date.now() + 10_000 }, (e, r) => (e ? reject(e) : resolve(r))));
}

describe('log.v1 round trips through the generated client', () => {
  it('produces and consumes one record in proglog form', async () => {
    const res = await produceRaw({ record: rec('hello'), records: [], producerId: '', sequence: 0n });
    expect(res.offset).toBe(0n);
    const got = await new Promise<ConsumeResponse>((resolve, reject) =>
      raw.consume({ offset: 0n, maxBatchRecords: 0, maxBatchBytes: 0, maxWaitMs: 0, linearizable: false }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    expect(got.record?.value.toString()).toBe('hello');
    expect(got.record?.offset).toBe(0n);
    expect(got.records).toEqual([]);
  });

  it('appends a batch with consecutive offsets', async () => {
    await client.produce([Buffer.from('a')]);
    const first = await client.produce(['b', 'c', 'd'].map((s) => Buffer.from(s)));
    expect(first).toBe(1);
    for (const [i, v] of ['a', 'b', 'c', 'd'].entries()) expect((await client.consume(i)).value.toString()).toBe(v);
  });

  it('ConsumeStream (one record per message) follows new records until cancelled', async () => {
    await client.produce([Buffer.from('r0'), Buffer.from('r1')]);
    const stream = raw.consumeStream({ offset: 0n, maxBatchRecords: 0, maxBatchBytes: 0, maxWaitMs: 0, linearizable: false });
    const seen: ConsumeResponse[] = [];
    const done = new Promise<void>((resolve) => {
      stream.on('data', (m: ConsumeResponse) => {
        seen.push(m);
        if (seen.length === 2) void client.produce([Buffer.from('r2')]);
        if (seen.length === 3) resolve();
      });
    });
    await done;
    expect(seen.map((m) => m.record?.value.toString())).toEqual(['r0', 'r1', 'r2']);
    expect(seen.every((m) => m.records.length === 0)).toBe(true);
    const cancelled = new Promise<number>((resolve) => stream.on('error', (e: { code: number }) => resolve(e.code)));
    stream.cancel();
    expect(await cancelled).toBe(status.CANCELLED);
  });

  it('ConsumeStream in batch form sends many records per message', async () => {
    const values = Array.from({ length: 500 }, (_, i) => Buffer.from(`v${i}`));
    await client.produce(values);
    const stream = raw.consumeStream({ offset: 0n, maxBatchRecords: 200, maxBatchBytes: 0, maxWaitMs: 0, linearizable: false });
    const batches: number[] = [];
    let total = 0;
    await new Promise<void>((resolve) =>
      stream.on('data', (m: ConsumeResponse) => {
        expect(m.record).toBeUndefined();
        batches.push(m.records.length);
        for (const r of m.records) expect(r.value.toString()).toBe(`v${Number(r.offset)}`);
        total += m.records.length;
        if (total === 500) resolve();
      }),
    );
    const ended = new Promise<number>((resolve) => stream.on('error', (e: { code: number }) => resolve(e.code)));
    stream.cancel();
    expect(await ended).toBe(status.CANCELLED);
    expect(Math.max(...batches)).toBeLessThanOrEqual(200);
    expect(batches.length).toBeLessThan(500);
  });

  it('ProduceStream answers 10,000 pipelined records in order', async () => {
    const stream = raw.produceStream();
    const offsets: bigint[] = [];
    const finished = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: ProduceResponse) => offsets.push(r.offset));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (let i = 0; i < 10_000; i++) stream.write({ record: rec(`m${i}`), records: [], producerId: '', sequence: 0n });
    stream.end();
    await finished;
    expect(offsets).toHaveLength(10_000);
    expect(offsets.every((o, i) => o === BigInt(i))).toBe(true);
    expect((await client.consume(9_999)).value.toString()).toBe('m9999');
  });

  it('the client library pipelines batches over ProduceStream and reads them back', async () => {
    const groups = Array.from({ length: 30 }, (_, g) => Array.from({ length: 100 }, (_, i) => Buffer.from(`${g}-${i}`)));
    const batches = [];
    for await (const b of client.produceStream(groups, { batchRecords: 64, inflightMax: 4 })) batches.push(b);
    expect(batches.reduce((n, b) => n + b.count, 0)).toBe(3000);
    const read = [];
    for await (const r of client.consumeStream(0, { untilHigh: true })) read.push(r.value.toString());
    expect(read).toEqual(groups.flat().map((b) => b.toString()));
  });

  it('GetServers names this node as the leader', async () => {
    expect(await client.servers()).toEqual([{ id: 'memory', rpcAddr: '127.0.0.1:0', isLeader: true }]);
  });

  it('serves grpc.health.v1 on the same port', async () => {
    const health = new HealthClient(server.addr);
    try {
      expect(await health.check('log.v1.Log')).toBe('SERVING');
    } finally {
      health.close();
    }
  });
});
