/**
 * make bench-reads [ARGS="--json --count 2000"] — the cost of linearizable reads: Consume p50 on
 * a follower and on the leader of a 3-node local cluster of agent processes, plain and with
 * `linearizable` (ReadIndex), interleaved in the same run (one request in flight), plus the ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../src/cli/local-cluster.js';
import { LogApiClient } from '../src/client/log-client.js';
import { Histogram } from './lib/histogram.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const count = Number(args[args.indexOf('--count') + 1] ?? NaN) || 2000;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'replog-bench-reads-'));
  const cluster = await LocalCluster.start({ nodes: 3, dataDir: dir, basePort: 0, agentArgs: ['--log-level', 'warn'] });
  try {
    const servers = await cluster.waitForLeader(60_000);
    const leader = servers.find((s) => s.isLeader);
    const follower = servers.find((s) => !s.isLeader);
    if (!leader || !follower) throw new Error('no leader or follower');
    const producer = new LogApiClient({ addr: leader.rpcAddr });
    await producer.produce(Array.from({ length: 100 }, (_, i) => Buffer.from(`v${i}`)));
    producer.close();
    const rows = [];
    for (const [role, addr] of [['follower', follower.rpcAddr], ['leader', leader.rpcAddr]] as const) {
      const client = new LogApiClient({ addr });
      await client.consume(0, { linearizable: true });
      const plain = new Histogram();
      const linear = new Histogram();
      for (let i = 0; i < count; i++) {
        for (const [h, linearizable] of [[plain, false], [linear, true]] as const) {
          const t = performance.now();
          await client.consume(i % 100, { linearizable });
          h.record(performance.now() - t);
        }
      }
      client.close();
      const p50 = plain.percentile(50);
      const l50 = linear.percentile(50);
      rows.push({ node: role, plainP50Ms: round(p50), linearizableP50Ms: round(l50), ratio: round(l50 / p50), linearizableP99Ms: round(linear.percentile(99)) });
    }
    if (json) console.log(JSON.stringify({ bench: 'reads', count, rows }));
    else {
      console.log(`Consume p50, 3 agent processes on this machine, ${count} reads each, interleaved`);
      console.log('| node | plain p50 ms | linearizable p50 ms | ratio | linearizable p99 ms |\n|---|---|---|---|---|');
      for (const r of rows) console.log(`| ${r.node} | ${r.plainP50Ms} | ${r.linearizableP50Ms} | ${r.ratio} | ${r.linearizableP99Ms} |`);
    }
  } finally {
    await cluster.stop(5000);
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

await main();
