/**
 * A full disk under a real agent process: the data dir is a small tmpfs made by the test (root
 * only). Produces fail RESOURCE_EXHAUSTED, the node stays up, every acknowledged record reads back
 * intact, and writes resume once the test deletes its filler file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { isServiceError } from '../../src/client/rpc-status.js';
import { LocalCluster } from '../../src/cli/local-cluster.js';
import { FAST, eventually, produceRetrying, readAll } from '../cluster/helpers.js';

const isRoot = process.getuid?.() === 0;
const RECORD_BYTES = 16 * 1024;

function value(i: number): Buffer {
  const b = Buffer.alloc(RECORD_BYTES, 0x61 + (i % 26));
  b.write(`record-${i}-`);
  return b;
}

describe.skipIf(!isRoot)('a data dir that fills up (needs root to mount a tmpfs; skipped otherwise)', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('fails produces with RESOURCE_EXHAUSTED, keeps serving and damages nothing, then resumes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replog-diskfull-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', dir]);
    const logs: string[] = [];
    const cluster = await LocalCluster.start({
      nodes: 1,
      dataDir: dir,
      basePort: 0,
      agentArgs: [...FAST, '--max-store-bytes', String(1024 * 1024), '--max-index-bytes', String(64 * 1024)],
      onLine: (_node, line) => {
        if (logs.length < 5_000) logs.push(line);
      },
    });
    onTestFailed(() => console.error(`agent log (last lines):\n${logs.slice(-40).join('\n')}`));
    cleanup = async () => {
      await cluster.stop(5000);
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    };
    await cluster.waitForLeader(30_000);
    const node = cluster.node('n1');
    const filler = join(dir, 'filler');
    writeFileSync(filler, Buffer.alloc(3 * 1024 * 1024, 1));

    const acked = new Map<number, string>();
    const client = new LogApiClient({ addr: node.rpcAddr, callTimeoutMs: 10_000 });
    let failure: unknown;
    try {
      for (let i = 0; i < 2000 && failure === undefined; i += 4) {
        const batch = [value(i), value(i + 1), value(i + 2), value(i + 3)];
        try {
          const first = await client.produce(batch);
          batch.forEach((v, k) => acked.set(first + k, v.toString()));
        } catch (err) {
          failure = err;
        }
      }
    } finally {
      client.close();
    }
    expect(failure, 'the disk never filled up').toBeDefined();
    expect(isServiceError(failure) ? failure.code : failure).toBe(Status.RESOURCE_EXHAUSTED);
    expect(acked.size).toBeGreaterThan(0);

    // Still up: the process runs, /healthz answers, and every acknowledged record is intact.
    expect(node.process, 'the agent exited').toBeDefined();
    const health = await fetch(`http://${node.metricsAddr}/healthz`);
    expect(health.status).toBe(200);
    expect(await readAll(node.rpcAddr)).toEqual(acked);

    unlinkSync(filler);
    const more = [Buffer.from('after-space-was-freed')];
    const offset = await produceRetrying(node.rpcAddr, more, 30_000);
    acked.set(offset, more[0]?.toString() ?? '');
    const all = await eventually(async () => {
      const got = await readAll(node.rpcAddr);
      return got.size === acked.size ? got : undefined;
    }, 'the record written after freeing space');
    expect(all).toEqual(acked);
    expect(node.process, 'the agent exited').toBeDefined();
  }, 120_000);
});
