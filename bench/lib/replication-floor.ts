/**
 * A reference for the 1-in-flight produce figures of bench-cluster: the minimal replicated append
 * (replication-floor-node.ts), three Node processes on this machine's loopback and disk, each
 * fdatasyncing every record, the client answered by a majority. What replog adds on top of it is
 * gRPC between the client and the leader, Raft, checksums, the index and offset translation; what
 * it shares is the processes, the wake-ups and three flushes of one disk per record.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forkReportingPort } from './child-port.js';
import { Histogram } from './histogram.js';
import { sendFrame } from './floor-frames.js';

const NODE_MODULE = fileURLToPath(new URL('./replication-floor-node.ts', import.meta.url));

function start(args: string[], children: ChildProcess[]): Promise<number> {
  const { child, port } = forkReportingPort(NODE_MODULE, args, `replication floor: ${args[0]}`);
  children.push(child);
  return port;
}

/**
 * Records/s and latency (ms) of `valueBytes` records produced at 1 in flight for `ms` (after a
 * warm-up of `warmupMs`) through a leader and `followers` followers whose files are in `dir`.
 */
export async function replicationFloor(dir: string, opts: { followers?: number; valueBytes?: number; ms?: number; warmupMs?: number } = {}): Promise<{ perSecond: number; p50Ms: number; p99Ms: number }> {
  const { followers = 2, valueBytes = 1024, ms = 3000, warmupMs = 1000 } = opts;
  const root = join(dir, 'replication-floor');
  mkdirSync(root, { recursive: true });
  const children: ChildProcess[] = [];
  let client: net.Socket | undefined;
  try {
    const ports: number[] = [];
    for (let i = 0; i < followers; i++) ports.push(await start(['follower', root], children));
    const leaderPort = await start(['leader', root, ...ports.map(String)], children);
    const sock = net.connect(leaderPort, '127.0.0.1');
    client = sock;
    sock.setNoDelay(true);
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    let answered: (() => void) | undefined;
    let failed: Error | undefined;
    sock.on('data', () => answered?.());
    sock.on('error', (err) => (failed = err));
    const record = Buffer.alloc(valueBytes, 7);
    let seq = 0;
    const one = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (failed) return reject(failed);
        answered = resolve;
        sendFrame(sock, ++seq, record);
      });
    const run = async (forMs: number): Promise<{ n: number; h: Histogram }> => {
      const h = new Histogram();
      const stop = performance.now() + forMs;
      let n = 0;
      while (performance.now() < stop && n < 1_000_000) {
        const t = performance.now();
        await one();
        h.record(performance.now() - t);
        n++;
      }
      return { n, h };
    };
    await run(warmupMs);
    const { n, h } = await run(ms);
    return { perSecond: n / (ms / 1000), p50Ms: h.percentile(50), p99Ms: h.percentile(99) };
  } finally {
    client?.destroy();
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill();
          }),
      ),
    );
  }
}
