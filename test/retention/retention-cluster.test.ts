/** Retention in a 3-node cluster of agent processes: old segments go while consumers read new ones. */
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { eventually, leaderOf, produceRetrying, startCluster } from '../cluster/helpers.js';

const RETENTION = ['--max-store-bytes', '4096', '--retention-bytes', '32768', '--retention-interval-ms', '200', '--retention-margin-entries', '0'];
const value = (i: number): Buffer => Buffer.from(`r${i}-`.padEnd(100, 'x'));

/** The lowest offset a node names in its OUT_OF_RANGE "gone" answer to a read of offset 0. */
async function lowestGone(client: LogApiClient): Promise<number | undefined> {
  const err = (await client.consume(0).then(() => undefined, (e: unknown) => e)) as ServiceError | undefined;
  if (err?.code !== status.OUT_OF_RANGE) return undefined;
  const m = /lowest available offset is (\d+)/.exec(err.details);
  return m ? Number(m[1]) : undefined;
}

async function retentionDeletedSegments(metricsAddr: string): Promise<number> {
  const text = await (await fetch(`http://${metricsAddr}/metrics`)).text();
  const m = /^replog_retention_deleted_segments_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

describe('retention across a cluster (3 agent processes)', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('deletes old segments on every node while a ConsumeStream keeps reading newer ones', async () => {
    const started = await startCluster(3, RETENTION);
    cleanup = started.cleanup;
    const { cluster } = started;
    const { leader } = await leaderOf(cluster);
    const clients = cluster.nodes.map((n) => new LogApiClient({ addr: n.rpcAddr, callTimeoutMs: 10_000 }));
    try {
      // Phase 1: ~40 segments of old records.
      let next = await produceRetrying(leader.rpcAddr, Array.from({ length: 100 }, (_, i) => value(i)));
      expect(next).toBe(0);
      const producer = new LogApiClient({ addr: leader.rpcAddr, callTimeoutMs: 10_000 });
      clients.push(producer);
      for (next = 100; next < 1500; next += 100) await producer.produce(Array.from({ length: 100 }, (_, i) => value(next + i)));

      // Phase 2: a follower's ConsumeStream follows the tail while more records arrive and retention runs.
      const follower = cluster.nodes.findIndex((n) => n !== leader);
      const end = 1800;
      const seen: number[] = [];
      const reading = (async () => {
        for await (const r of clients[follower]!.consumeStream(1500, { untilOffset: end - 1 })) {
          expect(r.value.equals(value(r.offset))).toBe(true);
          seen.push(r.offset);
        }
      })();
      for (next = 1500; next < end; next += 10) await producer.produce(Array.from({ length: 10 }, (_, i) => value(next + i)));
      await reading;
      expect(seen).toEqual(Array.from({ length: end - 1500 }, (_, i) => 1500 + i));

      // Every node dropped old segments; a read below the start names the lowest offset, which reads.
      for (const [i, node] of cluster.nodes.entries()) {
        const client = clients[i]!;
        const lowest = await eventually(async () => {
          const low = await lowestGone(client);
          if (low === undefined) return undefined;
          const rec = await client.consume(low);
          return rec.value.equals(value(low)) ? low : undefined;
        }, `${node.name} to drop old segments`);
        expect(lowest).toBeGreaterThan(0);
        expect(lowest).toBeLessThan(end);
        expect(await retentionDeletedSegments(node.metricsAddr)).toBeGreaterThan(0);
      }
    } finally {
      for (const c of clients) c.close();
    }
  });
});
