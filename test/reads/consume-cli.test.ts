/** `replog consume --wait-ms N --linearizable` against a fake 3-node cluster (servers in this process). */
import { execFile } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeCluster } from '../client/fake-cluster.js';
import { until } from '../helpers/wait.js';

let cluster: FakeCluster;
beforeEach(async () => {
  cluster = await FakeCluster.start(3);
});
afterEach(async () => {
  await cluster.close();
});

function run(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? 1 : 0 });
    });
  });
}

describe('replog consume --wait-ms --linearizable', () => {
  it('waits for a record produced after the command started, then prints it', async () => {
    await cluster.log.append([Buffer.from('a')]);
    const consuming = run(['consume', '--addr', cluster.addr('n2'), '--offset', '1', '--count', '1', '--wait-ms', '20000', '--linearizable', '--json']);
    await until(() => cluster.log.waitingReads() === 1, 'the consume to wait on the server', 20_000);
    await cluster.log.append([Buffer.from('b')]);
    const out = await consuming;
    expect(out).toMatchObject({ code: 0 });
    expect(JSON.parse(out.stdout.trim()) as unknown).toEqual({ offset: 1, term: 0, value: 'b' });
  });

  it('fails with OUT_OF_RANGE "not yet" when nothing arrives in time', async () => {
    const out = await run(['consume', '--addr', cluster.addr('n1'), '--offset', '0', '--wait-ms', '100']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('OUT_OF_RANGE');
    expect(out.stderr).toContain('not yet');
  });
});
