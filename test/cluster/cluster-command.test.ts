import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { TempDirs } from '../helpers/temp-dir.js';
import { eventually, produceRetrying, readAll } from './helpers.js';

interface ClusterTable {
  nodes: { name: string; rpcAddr: string; leader: boolean }[];
}

describe('replog cluster', () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  it('starts 3 nodes that accept produces via any node and serve them from every node, and stops them all on Ctrl-C', async () => {
    const dir = await temp.make('replog-cluster-cmd-');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'cluster', '--nodes', '3', '--data-dir', dir, '--base-port', '0', '--json', '--no-logs'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const table = await eventually(() => {
        const line = out.split('\n').find((l) => l.startsWith('{"nodes"'));
        return line ? (JSON.parse(line) as ClusterTable) : undefined;
      }, 'the cluster table', 60_000);
      expect(table.nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
      expect(table.nodes.filter((n) => n.leader)).toHaveLength(1);
      const follower = table.nodes.find((n) => !n.leader)!;
      expect(await produceRetrying(follower.rpcAddr, [Buffer.from('one'), Buffer.from('two')])).toBe(0);
      for (const n of table.nodes) {
        await eventually(async () => ((await readAll(n.rpcAddr)).get(1) === 'two' ? true : undefined), `${n.name} to serve the records`);
      }
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('stopping every node');
  });
});
