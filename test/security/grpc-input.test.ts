/** gRPC requests at the edges: offsets 0, 2^63, 2^64-1; empty values; ConsumeStream at offsets past the end. */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { LogClient, type ConsumeResponse } from '../../src/gen/log/v1/log.js';
import { ChannelCredentials } from '@grpc/grpc-js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

let node: TestServer;
let raw: LogClient;
let client: LogApiClient;

beforeAll(async () => {
  node = await startTestServer();
  raw = new LogClient(node.addr, ChannelCredentials.createInsecure());
  client = new LogApiClient({ addr: node.addr });
  await client.produce([Buffer.from('zero'), Buffer.from('one')]);
});

afterAll(async () => {
  raw.close();
  client.close();
  await node.close();
});

const consumeReq = (offset: bigint) => ({ offset, maxBatchRecords: 0, maxBatchBytes: 0, maxWaitMs: 0, linearizable: false });

function consumeAt(offset: bigint): Promise<{ code: number; details: string; value?: string }> {
  return new Promise((resolve) =>
    raw.consume(consumeReq(offset), new Metadata(), { deadline: Date.now() + 10_000 }, (e: ServiceError | null, r: ConsumeResponse) =>
      resolve(e ? { code: e.code, details: e.details } : { code: status.OK, details: '', value: r.record?.value.toString() }),
    ),
  );
}

function streamAt(offset: bigint): Promise<{ code: number; details: string }> {
  return new Promise((resolve) => {
    const call = raw.consumeStream(consumeReq(offset), new Metadata(), { deadline: Date.now() + 10_000 });
    call.on('data', () => undefined);
    call.on('error', (e: ServiceError) => resolve({ code: e.code, details: e.details }));
    call.on('end', () => resolve({ code: status.OK, details: '' }));
  });
}

describe('offsets at the edges of uint64', () => {
  it('offset 0 reads the first record', async () => {
    expect(await consumeAt(0n)).toMatchObject({ code: status.OK, value: 'zero' });
  });

  it.each([2n ** 53n, 2n ** 63n, 2n ** 64n - 1n])('offset %s is OUT_OF_RANGE with the log bounds, for Consume and ConsumeStream', async (offset) => {
    const unary = await consumeAt(offset);
    expect(unary.code).toBe(status.OUT_OF_RANGE);
    expect(unary.details).toMatch(/1/); // names the highest offset
    expect((await streamAt(offset)).code).toBe(status.OUT_OF_RANGE);
  });

  it('the node still serves after the edge cases', async () => {
    expect(await consumeAt(1n)).toMatchObject({ code: status.OK, value: 'one' });
  });
});

describe('empty values', () => {
  it('an empty value is a record like any other', async () => {
    const offset = await client.produce([Buffer.alloc(0)]);
    expect((await client.consume(offset)).value.length).toBe(0);
  });

  it('a request with no record at all is INVALID_ARGUMENT', async () => {
    const err = await new Promise<ServiceError | null>((resolve) =>
      raw.produce({ record: undefined, records: [], producerId: '', sequence: 0n }, new Metadata(), { deadline: Date.now() + 10_000 }, (e) => resolve(e)),
    );
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
  });
});
