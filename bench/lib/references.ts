/**
 * Reference figures measured in the same run as a benchmark: this disk's write + fdatasync of
 * 1 KiB, and a bare grpc-js unary echo on loopback (the floor under any unary RPC), its server in
 * the same process as its client or in another one.
 */
import { ChannelCredentials, Metadata, Server, ServerCredentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkReportingPort } from './child-port.js';
import { echoService } from './echo-service.js';
import { Histogram } from './histogram.js';
import { CLIENT_CHANNEL_DEFAULTS } from '../../src/client/log-client.js';

/** p50 (ms) and rate of write + fdatasync of `bytes` at the end of a file in `dir`. */
export function fsyncReference(dir: string, bytes = 1024, ms = 1500): { p50Ms: number; perSecond: number } {
  const path = join(dir, 'fsync-reference');
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(bytes, 7);
  const h = new Histogram();
  const start = performance.now();
  let n = 0;
  try {
    while (performance.now() - start < ms && n < 100_000) {
      const t = performance.now();
      writeSync(fd, buf);
      fdatasyncSync(fd);
      h.record(performance.now() - t);
      n++;
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return { p50Ms: h.percentile(50), perSecond: n / ((performance.now() - start) / 1000) };
}

type EchoClient = { unary(req: Buffer, md: Metadata, cb: (e: Error | null, r?: Buffer) => void): void; close(): void };

/** The echo server: in this process, or in a child (echo-server.ts). */
async function startEcho(where: 'in-process' | 'child'): Promise<{ port: number; stop: () => void }> {
  if (where === 'in-process') {
    const server = new Server();
    server.addService(echoService.definition, echoService.handlers);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    return { port, stop: () => server.forceShutdown() };
  }
  const { child, port: reported } = forkReportingPort(fileURLToPath(new URL('./echo-server.ts', import.meta.url)), [], 'echo server');
  const stop = (): void => {
    if (child.connected) child.disconnect();
    child.kill();
  };
  try {
    return { port: await reported, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/**
 * p50 (ms) of a unary grpc-js echo of `bytes` at 1 in flight on 127.0.0.1, its server in this
 * process (as bench-api's replog is) or in a child process (as an agent is to its clients: every
 * call then wakes two processes).
 */
export async function echoUnaryReference(bytes = 1024, ms = 1500, where: 'in-process' | 'child' = 'in-process'): Promise<{ p50Ms: number; perSecond: number }> {
  const echo = await startEcho(where);
  const Echo = makeGenericClientConstructor(echoService.definition, 'bench.Echo') as unknown as new (a: string, c: ChannelCredentials, o: object) => EchoClient;
  // The replog client's channel options (its flow-control window), so both sides get the same transport.
  const client = new Echo(`127.0.0.1:${echo.port}`, ChannelCredentials.createInsecure(), CLIENT_CHANNEL_DEFAULTS);
  const req = Buffer.alloc(bytes, 1);
  const call = (): Promise<void> => new Promise((resolve, reject) => client.unary(req, new Metadata(), (e) => (e ? reject(e) : resolve())));
  try {
    for (let i = 0; i < 200; i++) await call();
    const h = new Histogram();
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < ms && n < 100_000) {
      const t = performance.now();
      await call();
      h.record(performance.now() - t);
      n++;
    }
    return { p50Ms: h.percentile(50), perSecond: n / ((performance.now() - start) / 1000) };
  } finally {
    client.close();
    echo.stop();
  }
}
