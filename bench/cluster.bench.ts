/**
 * make bench-cluster [ARGS="--json --seconds 3 --warmup 4"] — a 3-node local cluster of agent processes
 * (sync always on every node), 1 KiB records, through the client library (ReplogClient):
 * produce at 1 and 256 in flight (the client's default path: requests on a long-lived
 * ProduceStream, concurrent produces coalesced into batches), unary Produce calls at 1 in flight
 * (LogApiClient, to the leader), ProduceStream, batched produce, and consume from a follower (batched ConsumeStream, read with ReplogClient.consumeBatches). References measured in the same run: a
 * 1-node cluster with the same code path, this disk's write + fdatasync, a grpc-js unary echo (its
 * server in this process, and in a child process as an agent is), and
 * the minimal replicated append at 1 in flight (bench/lib/replication-floor.ts: three Node
 * processes, raw TCP, an fdatasync on each, answered by a majority), measured just before the
 * 3-node cluster.
 * Also reports bytes on disk per node against the bytes produced (one copy of each record).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../src/cli/local-cluster.js';
import { LogApiClient } from '../src/client/log-client.js';
import { ReplogClient } from '../src/client/replog-client.js';
import { Histogram } from './lib/histogram.js';
import { echoUnaryReference, fsyncReference } from './lib/references.js';
import { replicationFloor } from './lib/replication-floor.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? NaN) || 3;
/** Produce before measuring (both in-flight levels), not reported. */
const warmupSeconds = args.includes('--warmup') ? Number(args[args.indexOf('--warmup') + 1]) : 4;
/** Top the 3-node cluster up to this many MB of values before measuring bytes on disk. */
const diskMb = args.includes('--disk-mb') ? Number(args[args.indexOf('--disk-mb') + 1]) : 0;
const VALUE = Buffer.alloc(1024, 'x');

interface Row {
  figure: string;
  nodes: number;
  recordsPerSec: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
}

async function closedLoop(inflight: number, op: () => Promise<number>, forSeconds = seconds): Promise<{ rate: number; h: Histogram }> {
  const h = new Histogram();
  const end = performance.now() + forSeconds * 1000;
  let records = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const n = await op();
        records += n;
        h.record(performance.now() - t);
      }
    }),
  );
  return { rate: records / forSeconds, h };
}

async function measure(nodes: number, dir: string): Promise<{ rows: Row[]; diskBytes: number[]; payloadBytes: number }> {
  const cluster = await LocalCluster.start({ nodes, dataDir: join(dir, `c${nodes}`), basePort: 0, agentArgs: ['--sync', 'always', '--log-level', 'warn'] });
  const rows: Row[] = [];
  let payloadBytes = 0;
  try {
    const servers = await cluster.waitForLeader(60_000);
    const client = new ReplogClient({ addrs: servers.map((s) => s.rpcAddr) });
    await client.produceBatch([VALUE]);
    const row = (figure: string, r: { rate: number; h: Histogram }): void => {
      rows.push({ figure, nodes, recordsPerSec: Math.round(r.rate), p50Ms: r.h.percentile(50), p99Ms: r.h.percentile(99), p999Ms: r.h.percentile(99.9) });
    };
    // One record per call through the client's default path: concurrent calls are coalesced
    // into batch requests (ReplogClient `coalesce`), as an application's produce() calls are.
    const one = async (): Promise<number> => {
      await client.produce(VALUE);
      payloadBytes += VALUE.length;
      return 1;
    };
    // Warm-up, results dropped: the agents' JIT and the connections settle in the first seconds
    // (p50 at 1 in flight fell from about 4 to 1.9 ms over the first 6 s of a fresh 3-node cluster).
    await closedLoop(1, one, warmupSeconds);
    await closedLoop(256, one, warmupSeconds / 2);
    row('produce, 1 in flight', await closedLoop(1, one));
    row('produce, 256 in flight', await closedLoop(256, one));
    // A unary Produce call per record, straight to the leader (the issue's unary figure).
    const leader = new LogApiClient({ addr: client.leaderAddr() ?? servers[0]?.rpcAddr ?? '' });
    await closedLoop(1, async () => leader.produce([VALUE]), warmupSeconds / 4);
    row('unary Produce, 1 in flight', await closedLoop(1, async () => {
      await leader.produce([VALUE]);
      payloadBytes += VALUE.length;
      return 1;
    }));
    leader.close();
    const batch = Array.from({ length: 1000 }, () => VALUE);
    row('produce batches of 1000, 4 in flight', await closedLoop(4, async () => {
      await client.produceBatch(batch);
      payloadBytes += 1000 * VALUE.length;
      return 1000;
    }));
    // ProduceStream: one record per message, pipelined.
    const streamEnd = performance.now() + seconds * 1000;
    let streamed = 0;
    function* groups(): Generator<readonly Buffer[]> {
      while (performance.now() < streamEnd) yield [VALUE];
    }
    for await (const r of client.produceStream(groups(), { batchRecords: 1, inflightMax: 256 })) if (r.type === 'ok') streamed += r.count;
    payloadBytes += streamed * VALUE.length;
    rows.push({ figure: 'ProduceStream, 1 record per message', nodes, recordsPerSec: Math.round(streamed / seconds) });
    // Bytes on disk: top up to --disk-mb of values (one copy of each record per node expected).
    while (nodes > 1 && payloadBytes < diskMb * 1e6) {
      await client.produceBatch(batch);
      payloadBytes += 1000 * VALUE.length;
    }
    // Consume everything from a follower (or the only node).
    const follower = servers.find((s) => !s.isLeader) ?? servers[0];
    const reader = new ReplogClient({ addrs: [follower?.rpcAddr ?? ''] });
    // Warm-up, dropped: the first pass over a node's log reads at about half the speed of the
    // next (JIT of both sides' read paths).
    const warmEnd = performance.now() + (warmupSeconds / 2) * 1000;
    for await (const _ of reader.consumeBatches(0, { untilHigh: true })) if (performance.now() > warmEnd) break;
    const t = performance.now();
    let read = 0;
    for await (const batch of reader.consumeBatches(0, { untilHigh: true })) read += batch.length;
    rows.push({ figure: `consume from ${nodes > 1 ? 'a follower' : 'the node'} (ConsumeStream, batched)`, nodes, recordsPerSec: Math.round(read / ((performance.now() - t) / 1000)) });
    reader.close();
    client.close();
  } finally {
    await cluster.stop();
  }
  const diskBytes = cluster.nodes.map((n) => dirBytes(n.dataDir));
  return { rows, diskBytes, payloadBytes };
}

function dirBytes(path: string): number {
  let total = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'replog-bench-cluster-'));
  try {
    const fsync = fsyncReference(dir);
    const echo = await echoUnaryReference();
    const echoChild = await echoUnaryReference(1024, 1500, 'child');
    const single = await measure(1, dir);
    const floor = await replicationFloor(dir, { ms: seconds * 1000 });
    const three = await measure(3, dir);
    const result = {
      references: {
        fsyncP50Ms: fsync.p50Ms,
        fsyncPerSec: Math.round(fsync.perSecond),
        echoUnaryP50Ms: echo.p50Ms,
        echoUnaryCrossProcessP50Ms: echoChild.p50Ms,
        replicationFloor: { perSec: Math.round(floor.perSecond), p50Ms: floor.p50Ms, p99Ms: floor.p99Ms },
      },
      rows: [...three.rows, ...single.rows],
      disk: { payloadBytes: three.payloadBytes, bytesPerNode: three.diskBytes, overhead: three.diskBytes.map((b) => b / Math.max(1, three.payloadBytes)) },
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    console.log(`references: write+fdatasync 1 KiB p50 ${fsync.p50Ms.toFixed(3)} ms (${Math.round(fsync.perSecond)}/s); grpc-js echo unary p50 ${echo.p50Ms.toFixed(3)} ms (server in another process: ${echoChild.p50Ms.toFixed(3)} ms)`);
    console.log(
      `            minimal replicated append, 3 processes, 1 in flight: ${Math.round(floor.perSecond)}/s, p50 ${floor.p50Ms.toFixed(3)} ms, p99 ${floor.p99Ms.toFixed(3)} ms`,
    );
    console.log('nodes  figure                                          records/s     p50 ms   p99 ms  p999 ms');
    for (const r of result.rows) {
      const f = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(2)).padStart(8);
      console.log(`${String(r.nodes).padEnd(6)} ${r.figure.padEnd(46)} ${String(r.recordsPerSec).padStart(10)} ${f(r.p50Ms)} ${f(r.p99Ms)} ${f(r.p999Ms)}`);
    }
    const p50 = three.rows.find((r) => r.figure.startsWith('unary'))?.p50Ms ?? NaN;
    const oneInFlight = three.rows.find((r) => r.figure === 'produce, 1 in flight')?.recordsPerSec ?? NaN;
    console.log(
      `3-node produce at 1 in flight vs the minimal replicated append: ${oneInFlight} vs ${Math.round(floor.perSecond)}/s (${(oneInFlight / floor.perSecond).toFixed(2)}x; target 1,400/s)`,
    );
    console.log(
      `3-node unary Produce p50 at 1 in flight vs echo p50 + 0.5 ms: ${p50.toFixed(3)} vs ${(echo.p50Ms + 0.5).toFixed(3)} ms (server in another process, as the agents are: ${(echoChild.p50Ms + 0.5).toFixed(3)} ms)`,
    );
    console.log(`bytes on disk per node after producing ${(three.payloadBytes / 1e6).toFixed(1)} MB of values: ${three.diskBytes.map((b) => `${(b / 1e6).toFixed(1)} MB`).join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
