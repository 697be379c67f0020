/**
 * The cost of idempotent producers: produce throughput of ReplogClient with and without a producer
 * id, against the same one-node agent in the same run (rounds alternate, so drift hits both).
 *
 *   npx tsx bench/idempotence.bench.ts [--seconds 3] [--rounds 2]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from '../src/agent/agent.js';
import { ReplogClient } from '../src/client/replog-client.js';
import { loadAgentConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';

interface Shape {
  name: string;
  batch: number;
  concurrency: number;
}

const shapes: Shape[] = [
  { name: 'unary, 1 record, 32 in flight', batch: 1, concurrency: 32 },
  { name: 'batch of 100, 8 in flight', batch: 100, concurrency: 8 },
];

async function rate(addr: string, idempotent: boolean, shape: Shape, seconds: number): Promise<number> {
  const client = new ReplogClient({ addrs: [addr], idempotent });
  const value = Buffer.alloc(100, 7);
  const values = Array.from({ length: shape.batch }, () => value);
  let records = 0;
  const until = Date.now() + seconds * 1000;
  await client.produceBatch(values);
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: shape.concurrency }, async () => {
      while (Date.now() < until) {
        await client.produceBatch(values);
        records += shape.batch;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  client.close();
  return records / elapsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '2' } } });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const dir = await mkdtemp(join(tmpdir(), 'replog-bench-idem-'));
  const agent = await Agent.start(loadAgentConfig({ flags: { dataDir: dir, bootstrap: true, rpcPort: 0, sync: 'always' } }), silentLogger());
  try {
    const addr = agent.rpcAddr();
    console.log('| shape | plain records/s | idempotent records/s | idempotent / plain |');
    console.log('|---|---|---|---|');
    for (const shape of shapes) {
      let plain = 0;
      let idem = 0;
      for (let r = 0; r < rounds; r++) {
        plain += await rate(addr, false, shape, seconds);
        idem += await rate(addr, true, shape, seconds);
      }
      console.log(`| ${shape.name} | ${Math.round(plain / rounds)} | ${Math.round(idem / rounds)} | ${(idem / plain).toFixed(2)} |`);
    }
  } finally {
    await agent.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
