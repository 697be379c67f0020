import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogApiClient } from '../../src/client/log-client.js';
import { LocalCluster, type LocalNode } from '../../src/cli/local-cluster.js';
import type { ServerInfo } from '../../src/replicated-log.js';
import { eventually as pollEventually } from '../helpers/wait.js';

/** Fast Raft timings so elections in tests take a few hundred ms. */
export const FAST = ['--raft-tick-ms', '50', '--raft-election-ticks', '10', '--log-level', 'info'];

export async function startCluster(nodes: number, extra: string[] = []): Promise<{ cluster: LocalCluster; dir: string; logs: string[]; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'replog-mp-'));
  const logs: string[] = [];
  const cluster = await LocalCluster.start({
    nodes,
    dataDir: dir,
    basePort: 0,
    agentArgs: [...FAST, ...extra],
    onLine: (node, line) => {
      if (logs.length < 20_000) logs.push(`[${node.name}] ${line}`);
    },
  });
  const cleanup = async (): Promise<void> => {
    await cluster.stop(5000);
    rmSync(dir, { recursive: true, force: true });
  };
  return { cluster, dir, logs, cleanup };
}

export async function leaderOf(cluster: LocalCluster, members?: number): Promise<{ leader: LocalNode; servers: ServerInfo[] }> {
  const servers = await cluster.waitForLeader(30_000, members);
  const name = servers.find((s) => s.isLeader)?.id;
  return { leader: cluster.node(name ?? ''), servers };
}

/** Produces through `addr`, retrying UNAVAILABLE answers (which may have been appended) until the deadline. */
export async function produceRetrying(addr: string, values: Buffer[], deadlineMs = 20_000): Promise<number> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const client = new LogApiClient({ addr, callTimeoutMs: 5000 });
    try {
      return await client.produce(values);
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      client.close();
    }
  }
}

/** Every record from `from` up to the node's highest offset at the start of the read. */
export async function readAll(addr: string, from = 0): Promise<Map<number, string>> {
  const client = new LogApiClient({ addr, callTimeoutMs: 10_000 });
  const out = new Map<number, string>();
  try {
    for await (const r of client.consumeStream(from, { untilHigh: true })) out.set(r.offset, r.value.toString());
  } finally {
    client.close();
  }
  return out;
}

/** test/helpers/wait.ts's eventually, polling every 100 ms: the checks here read whole logs over gRPC. */
export function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  return pollEventually(fn, what, timeoutMs, 100);
}
