/**
 * make bench-api [ARGS="--json --quick --local --only NAME"] — the log.v1 API of one node (1 KiB
 * records, sync always) against a bare grpc-js echo service on the same machine.
 *
 * Honesty rules: a warm-up pass first (JIT, connections, page cache); each figure is measured
 * right after its echo reference (adjacent in time, so both see the same machine load), and the
 * pair is repeated (3 times; the table shows medians, the ratio is the median of the adjacent
 * ratios); every measurement has a deadline, and so has the whole run. Client and server share
 * the process, as the echo's do, so the ratios compare like with like. Noisy on a shared 2-core
 * machine: read the ratios, not the absolute figures.
 *
 * `--local` measures GrpcApiServer over the segmented log (no Raft) (the API without Raft) instead of a
 * whole one-node agent. `--quick`: short measurements, for a smoke run.
 */
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
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
import { CLIENT_CHANNEL_DEFAULTS, LogApiClient } from '../src/client/log-client.js';
import { loadAgentConfig } from '../src/config.js';
import type { ConsumeResponse, ProduceRequest, ProduceResponse } from '../src/gen/log/v1/log.js';
import { Log, parseSyncPolicy } from '../src/log/index.js';
import { silentLogger } from '../src/logger.js';
import { Mux } from '../src/mux/mux.js';
import { allowAll } from '../src/server/auth.js';
import { GrpcApiServer } from '../src/server/grpc-server.js';
import { defaultServiceLimits } from '../src/server/log-service.js';
import { InvalidArgumentError } from '../src/errors.js';
import type { AppendResult, ConsumedRecord, ReadBatchLimits, ReplicatedLog, ServerInfo } from '../src/replicated-log.js';
import { Prng } from '../src/util/prng.js';
import { echoService, rawCodec } from './lib/echo-service.js';

const { values: flags } = parseArgs({
  options: { json: { type: 'boolean' }, quick: { type: 'boolean' }, local: { type: 'boolean' }, only: { type: 'string' } },
});
const recordBytes = 1024;
const durationMs = Number(process.env.BENCH_MS ?? (flags.quick ? 300 : 1500));
const warmupMs = flags.quick ? 150 : 400;
const repetitions = 3;
/** Records in the log before the consume figures (they re-read it from the start as needed). */
const prefillRecords = flags.quick ? 20_000 : 100_000;
/** A measurement that takes this much longer than its duration is a hung benchmark. */
const measureSlackMs = 20_000;
const runDeadlineMs = 15 * 60_000;
const value = Buffer.alloc(recordBytes, 7);

interface Sample {
  value: number;
  unit: string;
  /** Operations done (records, messages, calls): CPU time is reported per operation. */
  ops: number;
}

/** One line of the table: a figure, optionally next to the reference measured just before it. */
interface Figure {
  name: string;
  target?: { text: string; pass: (ratioOrValue: number) => boolean; on: 'ratio' | 'value' };
  reference?: { name: string; measure: (ms: number) => Promise<Sample> };
  /** Ratio of the figure to its reference (default figure / reference). */
  ratio?: (figure: number, reference: number) => number;
  measure: (ms: number) => Promise<Sample>;
}

interface Row {
  name: string;
  value: number;
  min: number;
  max: number;
  unit: string;
  /** Process CPU time (user + system, client and server together) per operation, microseconds. */
  cpuUsPerOp: number;
  reference?: { name: string; value: number; unit: string; cpuUsPerOp: number };
  ratio?: number;
  target?: string;
  pass?: boolean;
}

// ---- the reference: a bare grpc-js echo service with raw Buffer messages ----

const echoDef = {
  ...echoService.definition,
  durable: { path: '/bench.Echo/Durable', requestStream: false, responseStream: false, ...rawCodec },
  bidi: { path: '/bench.Echo/Bidi', requestStream: true, responseStream: true, ...rawCodec },
  stream: { path: '/bench.Echo/Stream', requestStream: false, responseStream: true, ...rawCodec },
} as const;

type EchoClient = Client & {
  unary(req: Buffer, md: Metadata, cb: (e: Error | null, r: Buffer) => void): void;
  durable(req: Buffer, md: Metadata, cb: (e: Error | null, r: Buffer) => void): void;
  bidi(): ClientDuplexStream<Buffer, Buffer>;
  stream(req: Buffer): ClientReadableStream<Buffer>;
};

/**
 * `durable` is the echo with the least a durable unary service must add: its handler appends the
 * request to a file and fdatasyncs it on the event-loop thread (no thread-pool round trip), then
 * answers.
 */
async function startEcho(dir: string): Promise<{ client: EchoClient; close: () => void }> {
  const server = new Server();
  const fd = fs.openSync(join(dir, 'echo-durable'), 'w');
  let end = 0;
  server.addService(echoDef, {
    ...echoService.handlers,
    durable: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      fs.writeSync(fd, call.request, 0, call.request.length, end);
      end += call.request.length;
      fs.fdatasyncSync(fd);
      cb(null, call.request);
    },
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
  const Echo = makeGenericClientConstructor(echoDef, 'bench.Echo') as unknown as new (a: string, c: ChannelCredentials, o: object) => EchoClient;
  // The replog client's channel options (its flow-control window), so both sides get the same transport.
  const client = new Echo(`127.0.0.1:${port}`, ChannelCredentials.createInsecure(), CLIENT_CHANNEL_DEFAULTS);
  return {
    client,
    close: () => {
      client.close();
      server.forceShutdown();
      fs.closeSync(fd);
    },
  };
}

// ---- the node under test ----

interface Node {
  addr: string;
  highestOffset: () => number;
  close: () => Promise<void>;
}

async function startAgent(dir: string): Promise<Node> {
  const agent = await Agent.start(loadAgentConfig({ flags: { dataDir: dir, bootstrap: true, rpcPort: 0, sync: 'always' } }), silentLogger());
  return { addr: agent.rpcAddr(), highestOffset: () => agent.log.highestOffset(), close: () => agent.close() };
}

/** The segmented log as a one-node ReplicatedLog without Raft: isolates the API's own costs. */
class DiskLog implements ReplicatedLog {
  constructor(private readonly log: Log) {}
  append(values: readonly Buffer[]): Promise<number> {
    return this.log.appendBatch(values.map((v) => ({ value: v })));
  }
  appendIdempotent(): Promise<AppendResult> {
    return Promise.reject(new InvalidArgumentError('the bench log has no idempotent producers'));
  }
  async read(offset: number): Promise<ConsumedRecord> {
    const r = await this.log.read(offset);
    return { offset: r.offset, value: r.value, term: r.term };
  }
  async readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]> {
    const rs = await this.log.readRange(from, limits.maxRecords, limits.maxBytes);
    return rs.map((r) => ({ offset: r.offset, value: r.value, term: r.term }));
  }
  waitFor(offset: number, signal?: AbortSignal): Promise<void> {
    return this.log.waitFor(offset, signal);
  }
  readBarrier(): Promise<void> {
    return Promise.resolve();
  }
  lowestOffset(): number {
    return this.log.lowestOffset();
  }
  highestOffset(): number {
    return this.log.highestOffset();
  }
  servers(): Promise<ServerInfo[]> {
    return Promise.resolve([{ id: 'bench', rpcAddr: '', isLeader: true }]);
  }
  close(): Promise<void> {
    return this.log.close();
  }
}

async function startLocal(dir: string): Promise<Node> {
  const log = new DiskLog(await Log.open(dir, { sync: parseSyncPolicy('always') }));
  const grpc = new GrpcApiServer({ log, authorizer: allowAll, logger: silentLogger(), limits: defaultServiceLimits, idleConnectionTimeoutMs: 60_000, maxConcurrentStreams: 1000 });
  const mux = await Mux.listen({ host: '127.0.0.1', port: 0, grpc: (c) => grpc.injector.injectConnection(c), maxConnections: 100, firstByteTimeoutMs: 5000, logger: silentLogger() });
  grpc.setServing(true);
  return {
    addr: `127.0.0.1:${mux.port()}`,
    highestOffset: () => log.highestOffset(),
    close: async () => {
      await grpc.close(1000);
      await mux.close();
      await log.close();
    },
  };
}

/** Polls until the node takes writes (a one-node cluster elects itself). */
async function untilWritable(client: LogApiClient): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await client.produceOne(value);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

// ---- measurement helpers (each runs for `ms`) ----

/** `inflight` concurrent loops of `op`: ops/s and latency p50 (ms). */
async function closedLoop(ms: number, inflight: number, op: () => Promise<unknown>): Promise<{ rate: number; p50: number; n: number }> {
  const h = hdr.build();
  const end = Date.now() + ms;
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
  return { rate: n / secs, p50: h.getValueAtPercentile(50) / 1000, n };
}

interface Rate {
  rate: number;
  n: number;
}

const sample = (r: Rate, unit: string, perOp = 1): Sample => ({ value: r.rate * perOp, unit, ops: r.n * perOp });
const latency = (r: { p50: number; n: number }): Sample => ({ value: r.p50, unit: 'ms', ops: r.n });

/** Responses/s through a duplex stream with at most `window` requests unanswered. */
function pipelined<Req, Res>(ms: number, stream: ClientDuplexStream<Req, Res>, req: Req, window: number): Promise<Rate> {
  const end = Date.now() + ms;
  const start = process.hrtime.bigint();
  let sent = 0;
  let acked = 0;
  return new Promise<Rate>((resolve, reject) => {
    const fill = (): void => {
      while (sent - acked < window && Date.now() < end) {
        stream.write(req);
        sent++;
      }
      if (acked >= sent) {
        stream.end();
        resolve({ rate: acked / (Number(process.hrtime.bigint() - start) / 1e9), n: acked });
      }
    };
    stream.on('data', () => {
      acked++;
      fill();
    });
    stream.on('error', reject);
    fill();
  });
}

/** Items/s read from a stream that never ends by itself (the echo's server-streaming). */
async function drainFor<T>(ms: number, stream: ClientReadableStream<T>): Promise<Rate> {
  const end = Date.now() + ms;
  const start = process.hrtime.bigint();
  let n = 0;
  stream.on('error', () => undefined);
  for await (const _ of stream as AsyncIterable<T>) {
    n++;
    if (Date.now() >= end) break;
  }
  stream.cancel();
  return { rate: n / (Number(process.hrtime.bigint() - start) / 1e9), n };
}

/**
 * Records/s of ConsumeStream reading the log from its start up to `high`, opening a new stream
 * from the start whenever it reaches `high` before the time is up (never waits at the tail).
 */
async function consumeFor(ms: number, client: LogApiClient, high: number, maxBatchRecords: number): Promise<Rate> {
  const end = Date.now() + ms;
  const start = process.hrtime.bigint();
  let n = 0;
  while (Date.now() < end) {
    const s = client.raw.consumeStream({ offset: 0n, maxBatchRecords, maxBatchBytes: 0, maxWaitMs: 0, linearizable: false });
    s.on('error', () => undefined);
    for await (const res of s as AsyncIterable<ConsumeResponse>) {
      const records = res.record ? [res.record] : res.records;
      n += records.length;
      const last = records[records.length - 1];
      if (Date.now() >= end || (last !== undefined && Number(last.offset) >= high)) break;
    }
    s.cancel();
  }
  return { rate: n / (Number(process.hrtime.bigint() - start) / 1e9), n };
}

function fsyncP50Ms(dir: string): number {
  const fd = fs.openSync(join(dir, 'fsync-probe'), 'w');
  const h = hdr.build();
  try {
    for (let i = 0; i < 100; i++) {
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

// ---- the figures ----

function figures(echo: EchoClient, client: LogApiClient, node: Node, dir: string): Figure[] {
  const echoUnary = (): Promise<Buffer> => new Promise((r, j) => echo.unary(value, new Metadata(), (e, b) => (e ? j(e) : r(b))));
  const echoDurable = (): Promise<Buffer> => new Promise((r, j) => echo.durable(value, new Metadata(), (e, b) => (e ? j(e) : r(b))));
  const produceP50 = async (ms: number): Promise<Sample> => latency(await closedLoop(ms, 1, () => client.produceOne(value)));
  const rng = new Prng(42);
  const oneRecord: ProduceRequest = { record: { value, offset: 0n, term: 0n, type: 0 }, records: [], producerId: '', sequence: 0n };
  const batch: ProduceRequest = { record: undefined, records: Array.from({ length: 1000 }, () => ({ value, offset: 0n, term: 0n, type: 0 })), producerId: '', sequence: 0n };
  const echoBidi = { name: 'echo bidi, 1 KiB messages, 64 in flight', measure: async (ms: number) => sample(await pipelined(ms, echo.bidi(), value, 64), 'msgs/s') };
  const echoStream = { name: 'echo server-streaming, 1 KiB messages', measure: async (ms: number) => sample(await drainFor(ms, echo.stream(value)), 'msgs/s') };
  return [
    {
      name: 'Produce unary, 1 in flight (p50)',
      reference: {
        name: 'echo unary p50 + fsync p50',
        measure: async (ms: number) => {
          const s = latency(await closedLoop(ms, 1, echoUnary));
          return { ...s, value: s.value + fsyncP50Ms(dir) };
        },
      },
      measure: produceP50,
      target: { text: 'ratio <= 1', on: 'ratio', pass: (r) => r <= 1 },
    },
    {
      // The sum above adds two costs measured apart; composed in one process they cost more (the
      // process sleeps in the flush and wakes cold). This reference composes them.
      name: 'Produce unary, 1 in flight (p50), vs a durable echo',
      reference: { name: 'echo unary + write+fdatasync in its handler, p50', measure: async (ms: number) => latency(await closedLoop(ms, 1, echoDurable)) },
      measure: produceP50,
    },
    {
      name: 'Produce unary, 64 in flight',
      reference: { name: 'echo unary, 64 in flight', measure: async (ms: number) => sample(await closedLoop(ms, 64, echoUnary), 'calls/s') },
      measure: async (ms: number) => sample(await closedLoop(ms, 64, () => client.produceOne(value)), 'records/s'),
    },
    {
      name: 'ProduceStream, 1 record per message',
      reference: echoBidi,
      measure: async (ms: number) => sample(await pipelined(ms, client.raw.produceStream(), oneRecord, 64), 'records/s'),
      target: { text: 'ratio >= 0.7', on: 'ratio', pass: (r) => r >= 0.7 },
    },
    {
      name: 'ProduceStream, batches of 1000',
      measure: async (ms: number) => sample(await pipelined<ProduceRequest, ProduceResponse>(ms, client.raw.produceStream(), batch, 8), 'records/s', 1000),
      target: { text: '>= 100,000', on: 'value', pass: (v) => v >= 100_000 },
    },
    {
      name: 'Consume unary, 1 in flight',
      reference: { name: 'echo unary, 1 in flight', measure: async (ms: number) => sample(await closedLoop(ms, 1, echoUnary), 'calls/s') },
      measure: async (ms: number) => {
        const high = node.highestOffset();
        return sample(await closedLoop(ms, 1, () => client.consume(rng.nextUint32() % (high + 1))), 'records/s');
      },
    },
    {
      name: 'ConsumeStream, 1 record per message',
      reference: echoStream,
      measure: async (ms: number) => sample(await consumeFor(ms, client, node.highestOffset(), 0), 'records/s'),
      target: { text: 'ratio >= 0.7', on: 'ratio', pass: (r) => r >= 0.7 },
    },
    {
      name: 'ConsumeStream, batches of 1000',
      measure: async (ms: number) => sample(await consumeFor(ms, client, node.highestOffset(), 1000), 'records/s'),
      target: { text: '>= 300,000', on: 'value', pass: (v) => v >= 300_000 },
    },
  ];
}

/** CPU time of the process (user + system) while `run` runs, in microseconds per operation. */
async function withCpu(run: () => Promise<Sample>): Promise<Sample & { cpuUsPerOp: number }> {
  const before = process.cpuUsage();
  const s = await run();
  const used = process.cpuUsage(before);
  return { ...s, cpuUsPerOp: (used.user + used.system) / Math.max(1, s.ops) };
}

/** Rejects if `p` takes longer than the measurement's duration plus slack (a hung benchmark). */
function bounded<T>(name: string, ms: number, run: (ms: number) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not finish within ${ms + measureSlackMs} ms`)), ms + measureSlackMs);
  });
  const p = run(ms);
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

async function measureFigure(f: Figure): Promise<Row> {
  const values: number[] = [];
  const refs: number[] = [];
  const ratios: number[] = [];
  const cpus: number[] = [];
  const refCpus: number[] = [];
  let unit = '';
  let refUnit = '';
  for (let i = 0; i < repetitions; i++) {
    const reference = f.reference;
    const ref = reference ? await withCpu(() => bounded(reference.name, durationMs, reference.measure)) : undefined;
    const fig = await withCpu(() => bounded(f.name, durationMs, f.measure));
    values.push(fig.value);
    cpus.push(fig.cpuUsPerOp);
    unit = fig.unit;
    if (ref) {
      refs.push(ref.value);
      refCpus.push(ref.cpuUsPerOp);
      refUnit = ref.unit;
      ratios.push((f.ratio ?? ((a: number, b: number) => a / b))(fig.value, ref.value));
    }
  }
  const row: Row = { name: f.name, value: median(values), min: Math.min(...values), max: Math.max(...values), unit, cpuUsPerOp: median(cpus) };
  if (f.reference) {
    row.reference = { name: f.reference.name, value: median(refs), unit: refUnit, cpuUsPerOp: median(refCpus) };
    row.ratio = median(ratios);
  }
  if (f.target) {
    row.target = f.target.text;
    row.pass = f.target.pass(f.target.on === 'ratio' ? (row.ratio ?? NaN) : row.value);
  }
  return row;
}

/** Tops the log up to `prefillRecords` so the consume figures read a log of a known size. */
async function prefill(client: LogApiClient, node: Node): Promise<void> {
  const missing = prefillRecords - (node.highestOffset() + 1);
  const values = Array.from({ length: 1000 }, () => value);
  for (let i = 0; i < missing; i += 1000) await client.produce(values);
}

// ---- the run ----

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'replog-bench-api-'));
  const echo = await startEcho(dir);
  const node = flags.local ? await startLocal(join(dir, 'node')) : await startAgent(join(dir, 'node'));
  const client = new LogApiClient({ addr: node.addr });
  const rows: Row[] = [];
  try {
    await untilWritable(client);
    const all = figures(echo.client, client, node, dir).filter((f) => flags.only === undefined || f.name.includes(flags.only));
    for (const f of all) {
      if (f.name.startsWith('Consume')) await prefill(client, node);
      // Warm-up: the same work, shorter, results dropped.
      if (f.reference) await bounded(f.reference.name, warmupMs, f.reference.measure);
      await bounded(f.name, warmupMs, f.measure);
      rows.push(await measureFigure(f));
    }
  } finally {
    client.close();
    echo.close();
    await node.close();
    await rm(dir, { recursive: true, force: true });
  }
  print(rows);
}

function print(rows: Row[]): void {
  const target = flags.local ? 'GrpcApiServer over the segmented log (no Raft)' : 'one-node agent (Raft)';
  if (flags.json) {
    console.log(JSON.stringify({ node: target, recordBytes, durationMs, repetitions, rows }, null, 2));
    return;
  }
  const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(3));
  console.log(`replog bench-api: ${target}, ${recordBytes} B records, sync always, ${repetitions} x ${durationMs} ms per figure (medians)`);
  console.log('| figure | value | min..max | unit | CPU us/op | reference | ref value | ref CPU us/op | ratio | target | ok |');
  console.log('|---|---:|---|---|---:|---|---:|---:|---:|---|---|');
  for (const r of rows) {
    const ref = r.reference;
    const cells = [
      r.name,
      fmt(r.value),
      `${fmt(r.min)}..${fmt(r.max)}`,
      r.unit,
      r.cpuUsPerOp.toFixed(1),
      ref?.name ?? '',
      ref ? `${fmt(ref.value)} ${ref.unit}` : '',
      ref ? ref.cpuUsPerOp.toFixed(1) : '',
      r.ratio === undefined ? '' : r.ratio.toFixed(2),
      r.target ?? '',
      r.pass === undefined ? '' : r.pass ? 'yes' : 'NO',
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

const watchdog = setTimeout(() => {
  console.error(`bench-api: the run did not finish within ${runDeadlineMs} ms`);
  process.exit(1);
}, runDeadlineMs);
watchdog.unref();

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
