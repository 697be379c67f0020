import { connect, type Socket } from 'node:net';
import { ChannelCredentials, Metadata, makeGenericClientConstructor, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { Prng } from '../../src/util/prng.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';
import { until } from '../helpers/wait.js';

let server: TestServer;
let client: LogApiClient;

beforeEach(async () => {
  server = await startTestServer({ idleConnectionTimeoutMs: 500, firstByteTimeoutMs: 1000, limits: { maxRecordBytes: 1024, maxBatchBytes: 64 * 1024 } });
  client = new LogApiClient({ addr: server.addr });
  await client.produce([Buffer.from('before')]);
});

afterEach(async () => {
  client.close();
  await server.close();
});

/** The node still serves and lost nothing. */
async function stillServing(): Promise<void> {
  const offset = await client.produce([Buffer.from('after')]);
  expect((await client.consume(0)).value.toString()).toBe('before');
  expect((await client.consume(offset)).value.toString()).toBe('after');
}

function openSocket(): Promise<{ sock: Socket; closed: () => boolean }> {
  const [host, port] = server.addr.split(':');
  return new Promise((resolve, reject) => {
    let closed = false;
    const sock = connect(Number(port), host, () => resolve({ sock, closed: () => closed }));
    sock.on('error', () => undefined);
    sock.on('close', () => (closed = true));
    sock.once('error', reject);
  });
}

describe('bad input on the API port', () => {
  it.each([1, 2, 3])('random bytes are rejected (run %i)', async (run) => {
    const seed = (Date.now() + run) >>> 0;
    const rng = new Prng(seed);
    const bytes = Buffer.from(Array.from({ length: 4096 }, () => rng.int(256)));
    if (run === 1) bytes[0] = 0x01; // Raft magic byte, no Raft handler yet
    const { sock, closed } = await openSocket();
    sock.write(bytes);
    await until(closed, `the server to close the garbage connection (seed ${seed})`, 10_000);
    await stillServing();
  });

  it('a connection that sends half a frame and hangs is closed; others are served meanwhile', async () => {
    const { sock, closed } = await openSocket();
    sock.write('PRI * HTTP/2.0\r\n'); // half of the HTTP/2 preface, then nothing
    await stillServing();
    await until(closed, 'the server to close the hung connection', 10_000);
    await stillServing();
  });

  it('an invalid protobuf body is INVALID_ARGUMENT', async () => {
    const Raw = makeGenericClientConstructor(
      {
        produce: {
          path: '/log.v1.Log/Produce',
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      'log.v1.Log',
    );
    const raw = new Raw(server.addr, ChannelCredentials.createInsecure());
    try {
      const err = await new Promise<ServiceError>((resolve, reject) =>
        raw.makeUnaryRequest('/log.v1.Log/Produce', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), new Metadata(), {}, (e) =>
          e ? resolve(e) : reject(new Error('accepted garbage')),
        ),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
    } finally {
      raw.close();
    }
    await stillServing();
  });

  it('a message over the size limit is rejected', async () => {
    const err = await client.produce([Buffer.alloc(200 * 1024)]).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
    await stillServing();
  });

  it('refuses connections beyond maxConnections and keeps serving the others', async () => {
    const small = await startTestServer({ maxConnections: 2, firstByteTimeoutMs: 60_000 });
    const [host, port] = small.addr.split(':');
    const socks: { closed: boolean }[] = [];
    const all: Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const state = { closed: false };
      const s = connect(Number(port), host);
      s.on('error', () => undefined);
      s.on('close', () => (state.closed = true));
      socks.push(state);
      all.push(s);
    }
    try {
      await until(() => socks.filter((s) => s.closed).length === 2, 'two refused connections', 10_000);
      expect(small.mux.connectionCount()).toBe(2);
    } finally {
      for (const s of all) s.destroy();
      await small.close();
    }
  });
});
