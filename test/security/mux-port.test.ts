/**
 * The one port under abuse: trickled bytes (slow-loris), half-open TLS handshakes, and a flood of
 * connections that never finish; the node stays within its connection limits and keeps serving.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { generateCerts, readPem, type CertFiles } from '../helpers/certs.js';
import { TempDirs } from '../helpers/temp-dir.js';
import { until } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';
import { openSocket } from './helpers.js';

const temp = new TempDirs();
let certs: CertFiles;
const nodes: TestServer[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  certs = generateCerts(await temp.make('replog-sec-certs-'));
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const n of nodes.splice(0)) await n.close();
});
afterAll(() => temp.cleanup());

async function node(opts: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const n = await startTestServer(opts);
  nodes.push(n);
  return n;
}

async function serves(n: TestServer): Promise<void> {
  const client = new LogApiClient({ addr: n.addr, callTimeoutMs: 10_000 });
  try {
    const offset = await client.produce([Buffer.from('real client')]);
    expect((await client.consume(offset)).value.toString()).toBe('real client');
  } finally {
    client.close();
  }
}

describe('slow and unfinished connections', () => {
  it('a client trickling the HTTP/2 preface one byte at a time is closed by the preface deadline', async () => {
    const n = await node({ firstByteTimeoutMs: 500 });
    const { sock, closed } = await openSocket(n);
    sockets.push(sock);
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    let i = 0;
    // Each byte comes well within the idle timeout; the whole preface never does in time.
    const trickle = setInterval(() => {
      if (i < preface.length && !closed()) sock.write(preface.subarray(i, ++i));
    }, 100);
    try {
      await until(closed, 'the trickling connection to be closed');
    } finally {
      clearInterval(trickle);
    }
    expect(i).toBeLessThan(preface.length);
    expect(n.mux.stats.timedOut).toBe(1);
    await serves(n);
  });

  it('a half-open TLS handshake (part of a ClientHello, then silence) is closed by the handshake deadline', async () => {
    const tls = { cert: readPem(certs.serverCert), key: readPem(certs.serverKey), ca: readPem(certs.caCert) };
    const n = await node({ tls, firstByteTimeoutMs: 500 });
    const { sock, closed } = await openSocket(n);
    sockets.push(sock);
    sock.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    await until(closed, 'the half-open handshake to be closed');
    expect(n.mux.stats.timedOut + n.mux.stats.rejected).toBeGreaterThanOrEqual(1);
    expect(n.mux.pendingCount()).toBe(0);
  });
});

describe('a flood of connections', () => {
  it('stays within maxConnections and maxPendingConnections and keeps serving real clients during the flood', async () => {
    const n = await node({ maxConnections: 40, maxPendingConnections: 8, firstByteTimeoutMs: 60_000 });
    const settled: boolean[] = [];
    for (let i = 0; i < 200; i++) {
      const s = connect(n.port, n.host);
      sockets.push(s);
      settled.push(false);
      const done = (): void => {
        settled[i] = true;
      };
      s.on('error', () => undefined);
      s.once('connect', () => {
        s.write('PRI * HTTP'); // a third of the preface, then nothing: never finishes
        done();
      });
      s.once('close', done);
    }
    await until(() => settled.every(Boolean), 'every flood connection to connect or be refused');
    await until(() => n.mux.pendingCount() <= 8, 'the unfinished connections to be capped');
    expect(n.mux.connectionCount()).toBeLessThanOrEqual(40);
    // The flood sockets are still open: a real client gets in (it evicts the oldest unfinished one).
    await serves(n);
    await serves(n);
    expect(n.mux.stats.evicted + n.mux.stats.refused).toBeGreaterThanOrEqual(150);
    expect(n.mux.pendingCount()).toBeLessThanOrEqual(8);
  });
});
