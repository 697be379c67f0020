/**
 * Runs a deployment's node command lines as real agents inside a NetnsLab and drives the replog
 * CLI against them from inside the lab, as a user would from a container. The agents run from the
 * sources (`node --import tsx src/cli/run.ts`, what the image runs compiled as dist/cli/run.js).
 */
import { expect } from 'vitest';
import type { LabProcess, NetnsLab } from './netns-lab.js';
import { repoRoot } from './deploy-files.js';

export const cliEntry = ['node', '--import', 'tsx', 'src/cli/run.ts'];

export interface LabNode {
  /** Lab host the node runs on. */
  host: string;
  /** The container's arguments after the entrypoint (`agent ...`). */
  args: string[];
  /** The container's environment (image + deployment), container paths already mapped to host paths. */
  env: Record<string, string>;
}

interface ServerJson {
  id: string;
  rpcAddr: string;
  isLeader: boolean;
}

/** The environment of a lab process: nothing of the test runner's REPLOG_* leaks in. */
export function processEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REPLOG_')));
  return { ...base, NO_COLOR: '1', ...env };
}

export function startNodes(lab: NetnsLab, nodes: readonly LabNode[]): LabProcess[] {
  return nodes.map((n) => lab.spawn(n.host, [...cliEntry, ...n.args], processEnv(n.env), repoRoot));
}

/** Runs `replog ARGS` inside a host's namespace. */
export function cli(lab: NetnsLab, host: string, args: readonly string[], timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  return lab.run(host, [...cliEntry, ...args], processEnv({}), repoRoot, timeoutMs);
}

/** Polls `replog servers` until `members` servers with one leader are listed; fails with the nodes' logs. */
export async function waitForCluster(lab: NetnsLab, host: string, clientArgs: readonly string[], members: number, nodes: readonly LabProcess[], timeoutMs: number): Promise<ServerJson[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const dead = nodes.find((n) => n.child.exitCode !== null);
    if (dead) throw new Error(`${dead.host.name} exited with ${dead.child.exitCode}:\n${dead.output.slice(-30).join('\n')}`);
    const res = await cli(lab, host, ['servers', '--json', '--timeout-ms', '3000', ...clientArgs], 15_000);
    last = res.output;
    if (res.code === 0) {
      const servers = res.output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as ServerJson);
      if (servers.length === members && servers.filter((s) => s.isLeader).length === 1) return servers;
    }
  }
  const logs = nodes.map((n) => `--- ${n.host.name}\n${n.output.slice(-15).join('\n')}`).join('\n');
  throw new Error(`no ${members}-node cluster with a leader within ${timeoutMs} ms; last answer:\n${last}\n${logs}`);
}

/** Produces one value through `host`, then reads it back from `readHost` (polling until it is committed there). */
export async function produceAndConsume(lab: NetnsLab, o: { host: string; addr: string; readHost: string; readAddr: string; clientArgs: readonly string[]; value: string; timeoutMs: number }): Promise<number> {
  const produced = await cli(lab, o.host, ['produce', '--addr', o.addr, ...o.clientArgs, o.value]);
  expect(produced.code, produced.output).toBe(0);
  const offset = Number(produced.output.trim().split('\n').at(-1));
  expect(Number.isSafeInteger(offset), produced.output).toBe(true);
  const deadline = Date.now() + o.timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const read = await cli(lab, o.readHost, ['consume', '--addr', o.readAddr, ...o.clientArgs, '--offset', String(offset), '--count', '1', '--timeout-ms', '5000'], 15_000);
    last = read.output;
    if (read.code === 0 && read.output.includes(o.value)) return offset;
  }
  throw new Error(`offset ${offset} (${o.value}) not readable from ${o.readAddr} within ${o.timeoutMs} ms: ${last}`);
}
