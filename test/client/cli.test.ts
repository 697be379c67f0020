import { execFile } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-cluster.js';

const cli = ['--import', 'tsx', 'src/cli/run.ts'];
let cluster: FakeCluster;

beforeEach(async () => {
  cluster = await FakeCluster.start(3);
});

afterEach(async () => {
  await cluster.close();
});

/** Runs the CLI asynchronously (the servers live in this process: a sync call would block them). */
function run(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...cli, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? 1 : 0 });
    });
    child.stdin?.end(input ?? '');
  });
}

describe('replog produce / consume / servers against a cluster', () => {
  it('--addr takes any nodes, comma-separated: produce lands on the leader, consume reads a follower', async () => {
    // 127.0.0.1:1 refuses connections: the client moves on to the next address.
    const addrs = `127.0.0.1:1,${cluster.addr('n3')}`;
    const args = await run(['produce', '--addr', addrs, 'x', 'y']);
    expect(args).toMatchObject({ stdout: '0\n1\n', code: 0 });
    const piped = await run(['produce', '--addr', addrs, '--json'], 'l1\nl2\nl3\n');
    expect(piped.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([{ offset: 2 }, { offset: 3 }, { offset: 4 }]);
    expect(cluster.node('n1').log.appends).toBe(2);
    expect(cluster.node('n2').log.refused + cluster.node('n3').log.refused).toBe(0);

    const consumed = await run(['consume', '--addr', cluster.addr('n1'), '--offset', '1', '--json']);
    expect(consumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { offset: 1, term: 0, value: 'y' },
      { offset: 2, term: 0, value: 'l1' },
      { offset: 3, term: 0, value: 'l2' },
      { offset: 4, term: 0, value: 'l3' },
    ]);
    expect(cluster.node('n1').log.reads).toBe(0);

    const servers = await run(['servers', '--addr', addrs, '--json']);
    expect(servers.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(cluster.servers());
  });

  it('rejects a malformed --addr entry with one line naming the flag', async () => {
    const r = await run(['servers', '--addr', `${cluster.addr('n1')},nope`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('replog: --addr: expected HOST:PORT, got "nope"\n');
  });
});
