import { afterEach, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { ReplogClient } from '../../src/client/replog-client.js';
import type { LocalCluster } from '../../src/cli/local-cluster.js';
import { eventually, leaderOf, produceRetrying, readAll, startCluster } from './helpers.js';

/** Multi-process tests: real agent processes on 127.0.0.1 (issues 6 and 7). */
describe('a 3-node cluster of agent processes', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('replicates 10,000 records at the same dense offsets to every node, and accepts produces via any node', async () => {
    const started = await startCluster(3);
    cleanup = started.cleanup;
    const { cluster } = started;
    const { leader } = await leaderOf(cluster);
    const values = Array.from({ length: 10_000 }, (_, i) => `record-${i}`);
    const client = new LogApiClient({ addr: leader.rpcAddr });
    for (let i = 0; i < values.length; i += 1000) {
      expect(await client.produce(values.slice(i, i + 1000).map((v) => Buffer.from(v)))).toBe(i);
    }
    client.close();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    expect(await produceRetrying(follower.rpcAddr, [Buffer.from('via-follower')])).toBe(10_000);
    for (const node of cluster.nodes) {
      const got = await eventually(async () => {
        const all = await readAll(node.rpcAddr);
        return all.size === 10_001 ? all : undefined;
      }, `${node.name} to hold every record`);
      values.forEach((v, i) => expect(got.get(i)).toBe(v));
      expect(got.get(10_000)).toBe('via-follower');
    }
  });

  it('kill -9 of the leader under load: a new leader takes over and every acknowledged record survives everywhere', async () => {
    const started = await startCluster(3);
    cleanup = started.cleanup;
    const { cluster } = started;
    const acked = new Map<number, string>();
    let stop = false;
    let seq = 0;
    // The client library, given every address, follows the leader on its own.
    const client = new ReplogClient({ addrs: cluster.nodes.map((n) => n.rpcAddr), callTimeoutMs: 5000 });
    const producer = async (): Promise<void> => {
      while (!stop) {
        const batch = Array.from({ length: 20 }, () => `v${seq++}`);
        try {
          const first = await client.produceBatch(batch.map((v) => Buffer.from(v)));
          batch.forEach((v, i) => {
            expect(acked.has(first + i)).toBe(false);
            acked.set(first + i, v);
          });
        } catch {
          // outcome unknown, or no leader yet: allowed; the client keeps going
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const producers = [producer(), producer(), producer()];
    await eventually(() => (acked.size > 500 ? true : undefined), 'some acknowledged records');
    const { leader: first } = await leaderOf(cluster);
    await cluster.signal(first.name, 'SIGKILL');
    const before = acked.size;
    await eventually(async () => {
      const { leader } = await leaderOf(cluster, 3);
      return leader.name !== first.name && acked.size > before + 200 ? true : undefined;
    }, 'a new leader accepting produces');
    stop = true;
    await Promise.all(producers);
    client.close();
    cluster.restart(first.name);
    const total = Math.max(...acked.keys()) + 1;
    for (const node of cluster.nodes) {
      const got = await eventually(async () => {
        const all = await readAll(node.rpcAddr);
        return all.size >= total ? all : undefined;
      }, `${node.name} to catch up`);
      for (const [off, v] of acked) expect(got.get(off), `offset ${off} on ${node.name}`).toBe(v);
    }
  });
});

describe('membership of agent processes', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  const voters = async (cluster: LocalCluster): Promise<string[]> => (await cluster.waitForLeader(30_000, 1)).map((s) => s.id).sort();

  it('a 4th node joins and becomes a voter; a restart keeps it; leave-on-terminate removes it; a leader hands over on SIGTERM', async () => {
    const started = await startCluster(3);
    cleanup = started.cleanup;
    const { cluster } = started;
    const { leader } = await leaderOf(cluster);
    await produceRetrying(leader.rpcAddr, [Buffer.from('before-join')]);
    const n4 = await cluster.addNode('n4');
    await eventually(async () => ((await voters(cluster)).includes('n4') ? true : undefined), 'n4 in the configuration');
    await eventually(async () => {
      const all = await readAll(n4.rpcAddr);
      return all.get(0) === 'before-join' ? true : undefined;
    }, 'n4 to catch up');
    // A plain SIGTERM is a restart: n4 stays a member.
    await cluster.signal('n4', 'SIGTERM');
    expect(n4.exitCode).toBe(0);
    expect(await voters(cluster)).toContain('n4');
    cluster.restart('n4', ['--leave-on-terminate']);
    await eventually(async () => ((await readAll(n4.rpcAddr)).size >= 1 ? true : undefined), 'n4 back');
    // With --leave-on-terminate, SIGTERM is a departure.
    await cluster.signal('n4', 'SIGTERM');
    await eventually(async () => (!(await voters(cluster)).includes('n4') ? true : undefined), 'n4 removed');
    // `replog admin leave` on a follower: it leaves for good and its process exits.
    const n5 = await cluster.addNode('n5');
    await eventually(async () => ((await voters(cluster)).includes('n5') ? true : undefined), 'n5 in the configuration');
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'admin', 'leave', '--addr', n5.rpcAddr, '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(out) as unknown).toEqual({ removed: true });
    await eventually(() => (n5.process === undefined ? true : undefined), 'n5 to exit');
    expect(n5.exitCode).toBe(0);
    expect(await voters(cluster)).not.toContain('n5');
    // SIGTERM on the leader: leadership moves to another voter.
    const { leader: current } = await leaderOf(cluster, 3);
    await cluster.signal(current.name, 'SIGTERM');
    expect(current.exitCode).toBe(0);
    const { leader: next } = await leaderOf(cluster, 3);
    expect(next.name).not.toBe(current.name);
    expect(await produceRetrying(next.rpcAddr, [Buffer.from('after-handover')])).toBe(1);
  });

  it('a wiped node restarted under the same name is replaced (learner, catch-up, promotion) and never bootstraps', async () => {
    const started = await startCluster(3);
    cleanup = started.cleanup;
    const { cluster } = started;
    const { leader } = await leaderOf(cluster);
    await produceRetrying(leader.rpcAddr, Array.from({ length: 100 }, (_, i) => Buffer.from(`w${i}`)));
    const victim = cluster.nodes.find((n) => n !== leader)!;
    await cluster.signal(victim.name, 'SIGKILL');
    const { rmSync } = await import('node:fs');
    rmSync(victim.dataDir, { recursive: true, force: true });
    cluster.restart(victim.name);
    await eventually(async () => {
      const all = await readAll(victim.rpcAddr);
      return all.size === 100 && all.get(99) === 'w99' ? true : undefined;
    }, 'the wiped node to catch up');
    // It is a voter again under its new identity: exactly three members, the leader kept its data.
    await eventually(async () => {
      const servers = await cluster.waitForLeader(30_000, 3);
      return servers.length === 3 ? true : undefined;
    }, 'three members');
    expect(await produceRetrying(victim.rpcAddr, [Buffer.from('after')])).toBe(100);
  });
});
