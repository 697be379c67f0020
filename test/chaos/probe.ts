/**
 * The chaos runner's eyes inside the test network (a namespace never touched by faults, or next
 * to the proxies), so that no client call leaves from the root namespace:
 *
 *   probe.ts monitor --nodes n1=HOST:PORT,...   prints one JSON line per poll: the nodes that
 *                                               claim leadership ({"time":..,"leaders":["n2"]})
 *   probe.ts dump --nodes ... --out FILE        waits until every node serves the same highest
 *                                               offset, then writes every node's records as JSON
 *
 * Both stop by themselves: monitor after --duration-ms (or SIGTERM), dump after --timeout-ms.
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { LogApiClient } from '../../src/client/log-client.js';
import { errorMessage } from '../../src/errors.js';
import type { NodeLog } from './checker.js';

interface ProbeOptions {
  nodes: string;
  out?: string;
  durationMs: string;
  timeoutMs: string;
  intervalMs: string;
}

const callTimeoutMs = 1000;

function parseNodes(list: string): { name: string; addr: string }[] {
  return list.split(',').map((kv) => {
    const [name, addr] = kv.split('=');
    if (!name || !addr) throw new Error(`expected NAME=HOST:PORT, got "${kv}"`);
    return { name, addr };
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The nodes that say they are the leader right now (more than one: a stale leader still thinks so). */
async function leaders(clients: { name: string; addr: string; client: LogApiClient }[]): Promise<string[]> {
  const claims = await Promise.all(
    clients.map(async (c) => {
      try {
        const servers = await c.client.servers(callTimeoutMs);
        return servers.some((s) => s.isLeader && s.rpcAddr === c.addr) ? c.name : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  return claims.filter((x): x is string => x !== undefined);
}

async function monitor(o: ProbeOptions): Promise<void> {
  const clients = parseNodes(o.nodes).map((n) => ({ ...n, client: new LogApiClient({ addr: n.addr, callTimeoutMs }) }));
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  setTimeout(() => stop.abort(), Number(o.durationMs)).unref();
  while (!stop.signal.aborted) {
    const found = await leaders(clients);
    process.stdout.write(`${JSON.stringify({ time: Date.now(), leaders: found })}\n`);
    await delay(Number(o.intervalMs));
  }
  for (const c of clients) c.client.close();
}

async function readAll(addr: string): Promise<NodeLog['records']> {
  const client = new LogApiClient({ addr, callTimeoutMs: 10_000 });
  const out: { offset: number; value: string }[] = [];
  try {
    for await (const r of client.consumeStream(0, { untilHigh: true, maxBatchRecords: 1000 })) out.push({ offset: r.offset, value: r.value.toString() });
  } finally {
    client.close();
  }
  return out;
}

/** The node's highest committed offset (-1: empty), from the high-offset header of a stream. */
async function highest(addr: string): Promise<number> {
  const client = new LogApiClient({ addr, callTimeoutMs });
  let high = -1;
  try {
    for await (const _ of client.consumeStream(0, { untilHigh: true, onHighOffset: (h) => (high = h), maxBatchRecords: 1 })) break;
  } finally {
    client.close();
  }
  return high;
}

/** Waits for one leader and equal highest offsets on every node, then reads every log. */
async function dump(o: ProbeOptions): Promise<void> {
  const nodes = parseNodes(o.nodes);
  const deadline = Date.now() + Number(o.timeoutMs);
  let last = 'nothing yet';
  while (Date.now() < deadline) {
    try {
      const clients = nodes.map((n) => ({ ...n, client: new LogApiClient({ addr: n.addr, callTimeoutMs }) }));
      const found = await leaders(clients);
      for (const c of clients) c.client.close();
      const highs = await Promise.all(nodes.map((n) => highest(n.addr)));
      last = `leaders ${JSON.stringify(found)}, highest offsets ${JSON.stringify(highs)}`;
      if (found.length === 1 && highs.every((h) => h === highs[0])) {
        const logs: NodeLog[] = [];
        for (const n of nodes) logs.push({ node: n.name, records: await readAll(n.addr) });
        writeFileSync(o.out ?? '/dev/stdout', JSON.stringify(logs));
        return;
      }
    } catch (err) {
      last = errorMessage(err);
    }
    await delay(Number(o.intervalMs));
  }
  throw new Error(`the nodes did not converge within ${o.timeoutMs} ms: ${last}`);
}

async function main(): Promise<void> {
  const program = new Command();
  const common = (c: Command): Command =>
    c
      .requiredOption('--nodes <list>', 'NAME=HOST:PORT,...')
      .option('--duration-ms <ms>', 'monitor: stop after this long', '600000')
      .option('--timeout-ms <ms>', 'dump: give up after this long', '60000')
      .option('--interval-ms <ms>', 'poll interval', '250');
  common(program.command('monitor')).action(async (_o: unknown, cmd: Command) => monitor(cmd.opts<ProbeOptions>()));
  common(program.command('dump')).option('--out <file>').action(async (_o: unknown, cmd: Command) => dump(cmd.opts<ProbeOptions>()));
  await program.parseAsync();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`chaos probe failed: ${errorMessage(err)}`);
    process.exit(1);
  },
);
