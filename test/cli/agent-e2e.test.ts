import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';
import { TempDirs } from '../helpers/temp-dir.js';
import { until } from '../helpers/wait.js';

const temp = new TempDirs();
const children: ChildProcess[] = [];
const cli = ['--import', 'tsx', 'src/cli/run.ts'];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await temp.cleanup();
});

interface Started {
  child: ChildProcess;
  addr: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Spawns `replog agent` on port 0, collecting what it logs. */
function spawnAgent(args: string[], env: NodeJS.ProcessEnv = process.env): Started {
  const child = spawn(process.execPath, [...cli, 'agent', '--rpc-port', '0', '--bind-addr', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': every byte the agent wrote to its pipes has been read by then.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, addr: '', output: () => out, exited };
}

/** Starts `replog agent` on port 0... (the agent logs its bound address) */
async function startAgent(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Started> {
  const a = spawnAgent(args, env);
  await until(() => /"rpcAddr":"([^"]+)"/.test(a.output()) || a.child.exitCode !== null, 'the agent to start', 30_000);
  const m = /"rpcAddr":"([^"]+)"/.exec(a.output());
  if (!m?.[1]) throw new Error(`agent did not start:\n${a.output()}`);
  return { ...a, addr: m[1] };
}

async function run(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...cli, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : err ? 1 : 0;
      resolve({ stdout, stderr, code });
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

describe('replog CLI end to end', () => {
  it('produce from stdin, consume, kill -9, restart: every acknowledged record is still there', async () => {
    const dir = await temp.make();
    const a = await startAgent(['--data-dir', dir, '--bootstrap']);
    const lines = Array.from({ length: 2000 }, (_, i) => `record-${i}`);
    const produced = await run(['produce', '--addr', a.addr], lines.join('\n') + '\n');
    expect(produced.stderr).toBe('');
    const offsets = produced.stdout.trim().split('\n').map(Number);
    expect(offsets).toEqual(lines.map((_, i) => i));
    const args = await run(['produce', '--addr', a.addr, '--json', 'x', 'y']);
    expect(args.stdout.trim().split('\n').map((l) => JSON.parse(l) as { offset: number })).toEqual([{ offset: 2000 }, { offset: 2001 }]);

    a.child.kill('SIGKILL');
    await a.exited;
    const b = await startAgent(['--data-dir', dir]);
    const consumed = await run(['consume', '--addr', b.addr, '--offset', '0']);
    expect(consumed.stdout.trim().split('\n')).toEqual([...lines, 'x', 'y']);
    const json = await run(['consume', '--addr', b.addr, '--offset', '1999', '--count', '2', '--json']);
    // The term is the Raft term the record was committed in: the one-node cluster's first leader term.
    const term = expect.any(Number) as unknown;
    expect(json.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { offset: 1999, term, value: 'record-1999' },
      { offset: 2000, term, value: 'x' },
    ]);
    const servers = await run(['servers', '--addr', b.addr, '--json']);
    expect(JSON.parse(servers.stdout) as unknown).toMatchObject({ isLeader: true });

    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(b.output()).toContain('agent stopped');
  });

  it('an empty data dir without --bootstrap exits non-zero with one line naming the flag', async () => {
    const dir = await temp.make();
    const r = await run(['agent', '--data-dir', `${dir}/new`, '--rpc-port', '0', '--bind-addr', '127.0.0.1:0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--bootstrap');
  });

  it('a port in use, a missing TLS file and a bad value each give one clear line', async () => {
    const dir = await temp.make();
    const a = await startAgent(['--data-dir', dir, '--bootstrap']);
    const port = a.addr.split(':')[1]!;
    const inUse = await run(['agent', '--data-dir', await temp.make(), '--bootstrap', '--rpc-port', port, '--bind-addr', '127.0.0.1:0']);
    expect(inUse.code).not.toBe(0);
    expect(inUse.stderr).toMatch(/--rpc-port: .*already in use/);
    const tls = await run(['agent', '--data-dir', dir, '--rpc-port', '0', '--bind-addr', '127.0.0.1:0', '--server-tls-cert-file', '/nope.pem', '--server-tls-key-file', '/nope.key', '--server-tls-ca-file', '/nope-ca.pem']);
    expect(tls.stderr).toMatch(/^replog: --server-tls-cert-file: cannot read \/nope\.pem/);
    const bad = await run(['agent', '--data-dir', dir, '--rpc-port', '0', '--bind-addr', '127.0.0.1:0', '--sync', 'sometimes']);
    expect(bad.stderr).toMatch(/^replog: --sync: expected always, never or interval:MS/);
    const consume = await run(['consume', '--addr', a.addr, '--offset', 'abc']);
    expect(consume.stderr).toMatch(/^replog: --offset:/);
  });

  it('a TCP probe of the port does not disturb the agent', async () => {
    const a = await startAgent(['--data-dir', await temp.make(), '--bootstrap']);
    const [host, port] = a.addr.split(':');
    await new Promise<void>((resolve) => {
      const s = createConnection(Number(port), host, () => s.end('GET / HTTP/1.1\r\n\r\n'));
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    expect((await run(['produce', '--addr', a.addr, 'ok'])).stdout.trim()).toBe('0');
  });

  it('says at start when it runs without the malloc settings, and not when GLIBC_TUNABLES is set', async () => {
    const { GLIBC_TUNABLES: _, ...without } = process.env;
    const bare = spawnAgent(['--data-dir', await temp.make(), '--bootstrap'], without);
    await until(() => bare.output().includes('GLIBC_TUNABLES is not set') || bare.child.exitCode !== null, 'the warning', 30_000);
    expect(bare.output()).toMatch(/"level":40,[^\n]*"msg":"GLIBC_TUNABLES is not set: [^"]*glibc\.malloc\.mmap_threshold=33554432/);
    // The warning comes before the node starts: a SIGTERM now arrives during start-up, and the
    // agent still shuts down cleanly once it is up, instead of dying with the signal.
    bare.child.kill('SIGTERM');
    expect(await bare.exited).toBe(0);
    expect(bare.output()).toContain('agent stopped');
    const own = await startAgent(['--data-dir', await temp.make(), '--bootstrap'], { ...without, GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' });
    own.child.kill('SIGTERM');
    expect(await own.exited).toBe(0);
    expect(own.output()).not.toContain('GLIBC_TUNABLES');
  });
});
