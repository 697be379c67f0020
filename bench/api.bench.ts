/**
 * make bench-api [ARGS=--json] — the log.v1 API of one node (1 KiB records, sync always) against
 * a bare grpc-js echo service measured in the same run, on the same machine. Client and server
 * share the process (as the echo's do), so the ratios compare like with like. Noisy on a shared
 * 2-core machine: read the ratios, not the absolute figures.
 */
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChannelCredentials,
  Metadata,
  Server,
  ServerCredentials,
  makeGenericClientConstructor,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import * as hdr from 'hdr-histogram-js';
import { Agent } from '../src/agent/agent.js';
import { LogApiClient } from '../src/client/log-client.js';
import { loadAgentConfig } from '../src/config.js';
import type { ConsumeResponse, ProduceResponse } from '../src/gen/log/v1/log.js';
import { silentLogger } from '../src/logger.js';

const RECORD_BYTES = 1024;
const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);
const json = process.argv.includes('--json');
const value = Buffer.alloc(RECORD_BYTES, 7);

interface Row {
  name: string;
  value: number;
  unit: string;
  reference?: string;
  ratio?: number;
  target?: string;
}

// ---- the reference: a bare grpc-js echo service with raw Buffer messages ----

const identity = (b: Buffer): Buffer => b;
const echoDef = {
  unary: { path: '/bench.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  bidi: { path: '/bench.Echo/Bidi', requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  stream: { path: '/bench.Echo/Stream', requestStream: false, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
} as const;

async function startEcho(): Promise<{ addr: string; close: () => void }> {
  const server = new Server();
  server.addService(echoDef, {
    unary: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, call.request),
    bidi: (call: ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(b));
      call.on('end', () => call.end());
    },
    stream: (call: ServerWritableStream<Buffer, Buffer>) => {
      let stop = false;
      call.on('cancelled', () => (stop = true));
      const pump = (): void => {
        while (!stop && call.write(value)) {
          /* keep writing until the buffer is full */
        }
        if (!stop) call.once('drain', pump);
      };
      pump();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { addr: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

type EchoClient = Client & {
  unary(req: Buffer, md: Metadata, cb: (e: Error | null, r: Buffer) => void): void;
  bidi(): ClientDuplexStream<Buffer, Buffer>;
  stream(req: Buffer): ClientReadableStream<Buffer>;
};

// ---- measurement helpers ----

/** Runs `op` with `inflight` concurrent loops for DURATION_MS; ops/s and latency p50 (ms). */
async function closedLoop(inflight: number, op: () => Promise<unknown>): Promise<{ rate: number; p50: number }> {
  const h = hdr.build();
  const end = Date.now() + DURATION_MS;
  let n = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (Date.now() < end) {
        const t = process.hrtime.bigint();
        await op();
        h.recordValue(Number(process.hrtime.bigint() - t) / 1000);
        n++;
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  return { rate: n / secs, p50: h.getValueAtPercentile(50) / 1000 };
}

/** Messages/s through a duplex stream with `window` messages unanswered at most. */
async function pipelined(
  write: (i: number) => void,
  onResponse: (cb: (count: number) => void) => void,
  finish: () => void,
  window: number,
): Promise<number> {
  const end = Date.now() + DURATION_MS;
  const start = process.hrtime.bigint();
  let sent = 0;
  let acked = 0;
  await new Promise<void>((resolve) => {
    const fill = (): void => {
      while (sent - acked < window && Date.now() < end) write(sent++);
      if (Date.now() >= end && acked >= sent) resolve();
    };
    onResponse((count) => {
      acked += count;
      fill();
    });
    fill();
  });
  finish();
  return acked / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Items/s read from an async iterable for DURATION_MS. */
async function drain<T>(items: AsyncIterable<T>, count: (t: T) => number, stop: () => void): Promise<number> {
  const end = Date.now() + DURATION_MS;
  const start = process.hrtime.bigint();
  let n = 0;
  for await (const item of items) {
    n += count(item);
    if (Date.now() >= end) break;
  }
  stop();
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

function fsyncP50Ms(dir: string): number {
  const fd = fs.openSync(join(dir, 'fsync-probe'), 'w');
  const h = hdr.build();
  try {
    for (let i = 0; i < 200; i++) {
      fs.writeSync(fd, value);
      const t = process.hrtime.bigint();
      fs.fdatasyncSync(fd);
      h.recordValue(Number(process.hrtime.bigint() - t) / 1000);
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.getValueAtPercentile(50) / 1000;
}

// ---- the run ----

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'replog-bench-api-'));
  const echo = await startEcho();
  const Echo = makeGenericClientConstructor(echoDef, 'bench.Echo') as unknown as new (a: string, c: ChannelCredentials) => EchoClient;
  const ec = new Echo(echo.addr, ChannelCredentials.createInsecure());
  const agent = await Agent.start(loadAgentConfig({ flags: { dataDir: join(dir, 'node'), bootstrap: true, rpcPort: 0, bindAddr: '127.0.0.1:0', sync: 'always' } }), silentLogger());
  const client = new LogApiClient({ addr: agent.rpcAddr() });
  const rows: Row[] = [];
  try {
    const fsyncMs = fsyncP50Ms(dir);
    rows.push({ name: 'fsync of 1 KiB (p50)', value: fsyncMs, unit: 'ms' });

    const echoUnary = await closedLoop(1, () => new Promise((r, j) => ec.unary(value, new Metadata(), (e, b) => (e ? j(e) : r(b)))));
    rows.push({ name: 'echo unary, 1 in flight (p50)', value: echoUnary.p50, unit: 'ms' });
    const produce1 = await closedLoop(1, () => client.produceOne(value));
    rows.push({ name: 'Produce unary, 1 in flight (p50)', value: produce1.p50, unit: 'ms', reference: 'echo p50 + fsync p50', ratio: produce1.p50 / (echoUnary.p50 + fsyncMs), target: '<= 1' });
    const produce64 = await closedLoop(64, () => client.produceOne(value));
    rows.push({ name: 'Produce unary, 64 in flight', value: produce64.rate, unit: 'records/s' });

    const echoBidi = await bidiRate(ec);
    rows.push({ name: 'echo bidi, 1 msg per message', value: echoBidi, unit: 'msgs/s' });
    const ps = await produceStreamRate(client, 1);
    rows.push({ name: 'ProduceStream, 1 record per message', value: ps, unit: 'records/s', reference: 'echo bidi', ratio: ps / echoBidi, target: '>= 0.7' });
    const psBatch = await produceStreamRate(client, 1000);
    rows.push({ name: 'ProduceStream, batches of 1000', value: psBatch, unit: 'records/s', target: '>= 100,000' });

    const high = agent.log.highestOffset();
    const consume = await closedLoop(1, () => client.consume(Math.floor(Math.random() * high)));
    rows.push({ name: 'Consume unary, 1 in flight', value: consume.rate, unit: 'records/s', reference: 'echo unary', ratio: consume.rate / echoUnary.rate });

    const echoStream = ec.stream(value);
    const echoSs = await drain(echoStream as AsyncIterable<Buffer>, () => 1, () => echoStream.cancel());
    echoStream.on('error', () => undefined);
    rows.push({ name: 'echo server-streaming', value: echoSs, unit: 'msgs/s' });
    const cs1 = await consumeStreamRate(client, 0);
    rows.push({ name: 'ConsumeStream, 1 record per message', value: cs1, unit: 'records/s', reference: 'echo server-streaming', ratio: cs1 / echoSs, target: '>= 0.7' });
    const csBatch = await consumeStreamRate(client, 1000);
    rows.push({ name: 'ConsumeStream, batches of 1000', value: csBatch, unit: 'records/s', target: '>= 300,000' });
  } finally {
    client.close();
    ec.close();
    echo.close();
    await agent.close();
    await rm(dir, { recursive: true, force: true });
  }
  print(rows);
}

async function bidiRate(ec: EchoClient): Promise<number> {
  const s = ec.bidi();
  return pipelined(
    () => s.write(value),
    (cb) => s.on('data', () => cb(1)),
    () => s.end(),
    64,
  );
}

async function produceStreamRate(client: LogApiClient, batch: number): Promise<number> {
  const s = client.raw.produceStream();
  s.on('error', () => undefined);
  const rec = { value, offset: 0n, term: 0n, type: 0 };
  const req = batch === 1 ? { record: rec, records: [] } : { record: undefined, records: Array.from({ length: batch }, () => rec) };
  const perMessage = await pipelined(
    () => s.write(req),
    (cb) => s.on('data', (_r: ProduceResponse) => cb(1)),
    () => s.end(),
    batch === 1 ? 64 : 8,
  );
  return perMessage * batch;
}

async function consumeStreamRate(client: LogApiClient, batch: number): Promise<number> {
  const s = client.raw.consumeStream({ offset: 0n, maxBatchRecords: batch, maxBatchBytes: 0 });
  s.on('error', () => undefined);
  return drain(s as AsyncIterable<ConsumeResponse>, (m) => (m.record ? 1 : m.records.length), () => s.cancel());
}

function print(rows: Row[]): void {
  if (json) {
    console.log(JSON.stringify({ recordBytes: RECORD_BYTES, durationMs: DURATION_MS, rows }, null, 2));
    return;
  }
  const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(3));
  console.log(`replog bench-api: 1 node, ${RECORD_BYTES} B records, sync always, ${DURATION_MS} ms per figure`);
  console.log('| figure | value | unit | reference | ratio | target |');
  console.log('|---|---:|---|---|---:|---|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${fmt(r.value)} | ${r.unit} | ${r.reference ?? ''} | ${r.ratio === undefined ? '' : r.ratio.toFixed(2)} | ${r.target ?? ''} |`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
