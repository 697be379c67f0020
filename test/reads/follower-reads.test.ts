/** Reads on followers of a 3-node cluster of agent processes: waiting reads, linearizable reads. */
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import type { LocalCluster, LocalNode } from '../../src/cli/local-cluster.js';
import { leaderOf, produceRetrying, startCluster } from '../cluster/helpers.js';

describe('reads on followers (3 agent processes)', () => {
  let cluster: LocalCluster;
  let cleanup: () => Promise<void>;
  let leader: LocalNode;
  let followers: LocalNode[];
  const clients: LogApiClient[] = [];
  const clientOf = (node: LocalNode): LogApiClient => {
    const c = new LogApiClient({ addr: node.rpcAddr, callTimeoutMs: 10_000 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    const started = await startCluster(3);
    cluster = started.cluster;
    cleanup = started.cleanup;
    leader = (await leaderOf(cluster)).leader;
    followers = cluster.nodes.filter((n) => n !== leader);
    // The cluster takes writes (the leader's noop is committed).
    await produceRetrying(leader.rpcAddr, [Buffer.from('warm-up')]);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cleanup();
  });

  it('a follower read with a wait returns a record acknowledged by the leader moments before', async () => {
    const producer = clientOf(leader);
    const readers = followers.map(clientOf);
    for (let i = 0; i < 20; i++) {
      const offset = await producer.produce([Buffer.from(`w${i}`)]);
      const reader = readers[i % readers.length]!;
      expect((await reader.consume(offset, { maxWaitMs: 10_000 })).value.toString()).toBe(`w${i}`);
    }
  });

  it('a waiting read on a follower is answered when the record is produced later', async () => {
    const producer = clientOf(leader);
    const reader = clientOf(followers[0]!);
    const next = (await producer.produce([Buffer.from('before')])) + 1;
    const reading = reader.consume(next, { maxWaitMs: 20_000 });
    await producer.produce([Buffer.from('later')]);
    expect((await reading).value.toString()).toBe('later');
  });

  it('a linearizable read on a follower returns the just-acknowledged record', async () => {
    const producer = clientOf(leader);
    const readers = followers.map(clientOf);
    for (let i = 0; i < 20; i++) {
      const offset = await producer.produce([Buffer.from(`l${i}`)]);
      const reader = readers[i % readers.length]!;
      expect((await reader.consume(offset, { linearizable: true })).value.toString()).toBe(`l${i}`);
    }
    // ConsumeStream too: the barrier comes before the first response, so the high offset covers it.
    const offset = await producer.produce([Buffer.from('streamed')]);
    const got: string[] = [];
    for await (const r of readers[0]!.consumeStream(offset, { linearizable: true, untilHigh: true })) got.push(r.value.toString());
    expect(got[0]).toBe('streamed');
  });

  it('with no leader a linearizable read fails UNAVAILABLE (a plain read still answers)', async () => {
    const survivor = followers[0]!;
    const reader = clientOf(survivor);
    const known = await reader.consume(0);
    for (const n of cluster.nodes) if (n !== survivor) await cluster.signal(n.name, 'SIGKILL');
    const err = (await reader.consume(0, { linearizable: true }).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.UNAVAILABLE);
    expect((await reader.consume(0)).value.equals(known.value)).toBe(true);
  });
});
