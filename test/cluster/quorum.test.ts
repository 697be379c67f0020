import { status } from '@grpc/grpc-js';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { eventually, leaderOf, produceRetrying, readAll, startCluster } from './helpers.js';

describe('quorum of a 5-node cluster of agent processes', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('keeps accepting writes with two nodes down, refuses them with three down, and resumes when one returns', async () => {
    const started = await startCluster(5);
    cleanup = started.cleanup;
    const { cluster } = started;
    const { leader } = await leaderOf(cluster);
    await produceRetrying(leader.rpcAddr, [Buffer.from('a')]);
    const others = cluster.nodes.filter((n) => n !== leader);
    await cluster.signal(others[0]!.name, 'SIGKILL');
    await cluster.signal(others[1]!.name, 'SIGKILL');
    expect(await produceRetrying(leader.rpcAddr, [Buffer.from('b')])).toBe(1);
    await cluster.signal(others[2]!.name, 'SIGKILL');
    // Two of five left: no majority. A produce must never be acknowledged now.
    const client = new LogApiClient({ addr: leader.rpcAddr, callTimeoutMs: 3000 });
    await expect(client.produce([Buffer.from('c')])).rejects.toMatchObject({ code: status.UNAVAILABLE });
    client.close();
    cluster.restart(others[2]!.name);
    const off = await produceRetrying(others[3]!.rpcAddr, [Buffer.from('d')], 30_000);
    expect(off).toBeGreaterThanOrEqual(2);
    const all = await readAll(others[3]!.rpcAddr);
    expect(all.get(0)).toBe('a');
    expect(all.get(1)).toBe('b');
    expect(all.get(off)).toBe('d');
  });

  it('garbage and wrong-protocol bytes on a node\'s port do not disturb the cluster', async () => {
    const started = await startCluster(3);
    cleanup = started.cleanup;
    const { cluster } = started;
    const { leader } = await leaderOf(cluster);
    const [host, port] = leader.rpcAddr.split(':');
    const junk = [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]), Buffer.from([0x01, 0, 0, 0, 3, 9, 9, 9]), Buffer.from([0x16, 3, 1, 0, 5])];
    for (const bytes of junk) {
      await new Promise<void>((resolve) => {
        const sock = net.connect({ host, port: Number(port) }, () => sock.end(bytes));
        sock.on('error', () => resolve());
        sock.on('close', () => resolve());
        sock.setTimeout(3000, () => sock.destroy());
      });
    }
    expect(await produceRetrying(leader.rpcAddr, [Buffer.from('still fine')])).toBe(0);
    await eventually(async () => ((await readAll(cluster.nodes[2]!.rpcAddr)).get(0) === 'still fine' ? true : undefined), 'replication after the garbage');
  });
});
