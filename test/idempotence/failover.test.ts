/**
 * Multi-process: the default (idempotent) client keeps producing while the leader is killed with
 * SIGKILL; afterwards every value is in the log exactly once. A restarted node still knows the
 * producer (a repeated sequence is answered as a duplicate), and a gap gets FAILED_PRECONDITION.
 */
import { status as Status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { ReplogClient } from '../../src/client/replog-client.js';
import { isServiceError, producerProblem } from '../../src/client/rpc-status.js';
import { eventually, leaderOf, readAll, startCluster } from '../cluster/helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('idempotent producers across a leader crash', () => {
  it('kill -9 of the leader during produces: every value exactly once; a restart keeps the dedup state', async () => {
    const { cluster, cleanup } = await startCluster(3);
    cleanups.push(cleanup);
    const { leader, servers } = await leaderOf(cluster);
    const client = new ReplogClient({ addrs: servers.map((s) => s.rpcAddr), callTimeoutMs: 5_000, retry: { maxAttempts: 30, retryDeadlineMs: 30_000, baseBackoffMs: 20, maxBackoffMs: 300 } });
    cleanups.push(() => client.close());

    const total = 300;
    let produced = 0;
    const lanes = Array.from({ length: 4 }, async (_, lane) => {
      for (let i = lane; i < total; i += 4) {
        await client.produce(`v${i}`);
        produced++;
      }
    });
    await eventually(() => (produced >= 50 ? true : undefined), 'some produces before the crash');
    await cluster.signal(leader.name, 'SIGKILL');
    await Promise.all(lanes);

    const survivor = servers.find((s) => s.id !== leader.name)!;
    const records = await eventually(async () => {
      const all = await readAll(survivor.rpcAddr);
      return all.size >= total ? all : undefined;
    }, 'every record on a survivor');
    const values = [...records.values()];
    expect(values.length).toBe(total);
    expect(new Set(values).size).toBe(total);

    // A producer's repeated sequence after the crashed node restarts (and may lead): a duplicate.
    cluster.restart(leader.name);
    await leaderOf(cluster);
    const api = new LogApiClient({ addr: survivor.rpcAddr, callTimeoutMs: 5_000 });
    cleanups.push(() => api.close());
    const first = await produceUntil(() => api.produce([Buffer.from('once')], { id: 'mp-producer', sequence: 0 }));
    await cluster.signal(leader.name, 'SIGTERM');
    cluster.restart(leader.name);
    await leaderOf(cluster);
    expect(await produceUntil(() => api.produce([Buffer.from('once')], { id: 'mp-producer', sequence: 0 }))).toBe(first);
    const gap = await produceUntil(() => api.produce([Buffer.from('x')], { id: 'mp-producer', sequence: 7 }).catch((e: unknown) => e));
    expect(isServiceError(gap) && gap.code).toBe(Status.FAILED_PRECONDITION);
    expect(producerProblem(gap)).toBe('gap');
  }, 120_000);
});

/** Retries UNAVAILABLE (elections) until the call answers. */
async function produceUntil<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isServiceError(err) || err.code !== Status.UNAVAILABLE || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
