/**
 * A chaos client process: concurrent producers writing unique values through ReplogClient and one
 * consumer following one node with ConsumeStream, each event appended to a JSONL history
 * (test/chaos/history.ts). Run inside a node's network namespace (or next to the proxies):
 *
 *   node --import tsx test/chaos/worker.ts --name w1 --history h.jsonl --addrs A,B,C --local A \
 *     --producers 2 --duration-ms 30000
 *
 * It stops by itself after --duration-ms (or on SIGTERM), lets calls in flight finish within
 * their deadline, flushes the history and exits 0.
 */
import { Command } from 'commander';
import { LogApiClient } from '../../src/client/log-client.js';
import { ReplogClient } from '../../src/client/replog-client.js';
import { isServiceError } from '../../src/client/rpc-status.js';
import { OutcomeUnknownError, RetriesExhaustedError, errorMessage } from '../../src/errors.js';
import { HistoryWriter } from './history.js';

interface WorkerOptions {
  name: string;
  history: string;
  addrs: string;
  local: string;
  producers: string;
  durationMs: string;
  callTimeoutMs: string;
}

/** gRPC codes after which the server provably did not append (INVALID_ARGUMENT, PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNAUTHENTICATED). */
const refusedCodes = new Set([3, 7, 8, 16]);
const resumeDelayMs = 200;

/**
 * `fail` only when the server refused the produce for good; everything else is `info` (unknown).
 * RetriesExhaustedError is unknown too: the idempotent client retries produces that were sent,
 * so an earlier attempt may have been appended even when the last one never left.
 */
function outcomeOf(err: unknown): 'fail' | 'info' {
  if (err instanceof OutcomeUnknownError || err instanceof RetriesExhaustedError) return 'info';
  if (isServiceError(err) && refusedCodes.has(err.code)) return 'fail';
  return 'info';
}

async function producer(o: { proc: string; client: ReplogClient; history: HistoryWriter; signal: AbortSignal }): Promise<void> {
  for (let seq = 0; !o.signal.aborted; seq++) {
    const value = `${o.proc}-${seq}`;
    o.history.write({ t: 'invoke', proc: o.proc, value, time: Date.now() });
    try {
      const offset = await o.client.produce(value);
      o.history.write({ t: 'ok', proc: o.proc, value, offset, time: Date.now() });
    } catch (err) {
      o.history.write({ t: outcomeOf(err), proc: o.proc, value, error: errorMessage(err), time: Date.now() });
      await delay(50);
    }
  }
}

async function consumer(o: { proc: string; addr: string; callTimeoutMs: number; history: HistoryWriter; signal: AbortSignal }): Promise<void> {
  const client = new LogApiClient({ addr: o.addr, callTimeoutMs: o.callTimeoutMs, channelOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 } });
  let next = 0;
  try {
    while (!o.signal.aborted) {
      let error = 'the stream ended';
      try {
        for await (const r of client.consumeStream(next, { signal: o.signal, maxBatchRecords: 500 })) {
          o.history.write({ t: 'read', proc: o.proc, offset: r.offset, value: r.value.toString(), time: Date.now() });
          next = r.offset + 1;
        }
      } catch (err) {
        error = errorMessage(err);
      }
      if (o.signal.aborted) break;
      o.history.write({ t: 'resume', proc: o.proc, offset: next, error, time: Date.now() });
      await delay(resumeDelayMs);
    }
  } finally {
    client.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const o = new Command()
    .requiredOption('--name <name>')
    .requiredOption('--history <file>')
    .requiredOption('--addrs <list>')
    .requiredOption('--local <addr>')
    .option('--producers <n>', 'concurrent producers', '2')
    .option('--duration-ms <ms>', 'stop after this long', '30000')
    .option('--call-timeout-ms <ms>', 'deadline of one call', '5000')
    .parse()
    .opts<WorkerOptions>();
  const history = new HistoryWriter(o.history);
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  setTimeout(() => stop.abort(), Number(o.durationMs)).unref();
  const callTimeoutMs = Number(o.callTimeoutMs);
  const client = new ReplogClient({ addrs: o.addrs.split(','), callTimeoutMs, connectTimeoutMs: 1000, discoveryTimeoutMs: 1000, refreshIntervalMs: 2000, suspectMs: 2000, retry: { retryDeadlineMs: 5000 } });
  const producers = Array.from({ length: Number(o.producers) }, (_, i) => producer({ proc: `${o.name}p${i}`, client, history, signal: stop.signal }));
  const reader = consumer({ proc: `${o.name}c`, addr: o.local, callTimeoutMs, history, signal: stop.signal });
  // A pending produce's deadline bounds how long this takes after the stop.
  await Promise.all([...producers, reader]);
  client.close();
  await history.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`chaos worker failed: ${errorMessage(err)}`);
    process.exit(1);
  },
);
