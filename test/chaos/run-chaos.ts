/**
 * One chaos run of real agent processes: network (namespaces or proxy) -> agents -> monitor and
 * admin ctl -> every node a voter -> client workers -> seeded fault schedule -> heal (every node a
 * voter again) -> workers finish -> every node's log dumped -> history checked. Everything started is stopped in reverse, even on failure; the run
 * directory (history files, agent logs, dump, summary) is kept for the caller to inspect.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Prng } from '../../src/util/prng.js';
import { AgentProcesses, childEnv, repoRoot, spawnNode } from './agent-processes.js';
import { checkHistory, type CheckResult, type NodeLog } from './checker.js';
import { AdminChannel } from './admin-channel.js';
import { HistoryWriter, readHistory } from './history.js';
import { MembershipNemesis } from './membership-faults.js';
import type { TestNetwork } from './nemesis.js';
import { NetnsNetwork } from './netns-network.js';
import { ProxyNetwork } from './proxy-network.js';
import { heal, membershipHealTimeoutMs, runSchedule, type FaultKind } from './schedule.js';

export interface ChaosOptions {
  seed: number;
  /** Length of the fault phase. */
  durationMs: number;
  nodes: number;
  network: 'netns' | 'proxy';
  /** Run directory: histories, agent logs, the final dump and summary.json. */
  dir: string;
  producersPerWorker?: number;
  holdMs?: { min: number; max: number };
  restMs?: { min: number; max: number };
  /** Fault kinds dealt first (in a seeded order), e.g. the membership faults in CI. */
  first?: readonly FaultKind[];
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  network: string;
  dir: string;
  historyFiles: string[];
  faults: Record<string, number>;
  /** Membership faults whose admin call was refused, per kind (counted in `faults` too). */
  refused: Record<string, number>;
  result: CheckResult;
  /** Agents that exited by themselves. */
  crashes: string[];
}

const tsx = ['--import', 'tsx'];
const clusterTimeoutMs = 60_000;
const settleMs = 3_000;
const workerGraceMs = 30_000;

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? ((line: string) => console.log(line));
  const rng = new Prng(o.seed);
  const names = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  log(`chaos: seed ${o.seed}, ${o.nodes} nodes, ${o.network} network, ${Math.round(o.durationMs / 1000)} s of faults; run dir ${o.dir}`);
  const net: TestNetwork = o.network === 'netns' ? NetnsNetwork.create(names, rng.fork()) : await ProxyNetwork.create(names, rng.fork());
  const agents = new AgentProcesses(net.agents, o.dir);
  const history = new HistoryWriter(join(o.dir, 'history-nemesis.jsonl'));
  const children: ChildProcess[] = [];
  let admin: AdminChannel | undefined;
  const nodesArg = names.map((n) => `${n}=${agents.rpcAddr(n)}`).join(',');
  try {
    agents.startAll();
    const monitor = startMonitor(net, o.dir, nodesArg, o.durationMs + 10 * clusterTimeoutMs, history);
    children.push(monitor.child);
    admin = AdminChannel.start(net.clientWrap('ctl'), names.map((n) => agents.rpcAddr(n)), o.dir);
    await monitor.waitForLeader(clusterTimeoutMs);
    const membership = new MembershipNemesis(admin, names, (n) => agents.rpcAddr(n));
    await membership.allVoters(clusterTimeoutMs);
    log(`chaos: leader ${monitor.leader()} elected, every node a voter; starting ${names.length} workers`);
    const workers = names.map((n, i) => startWorker(net, o, n, i, agents, settleMs * 2));
    children.push(...workers.map((w) => w.child));
    const { counts: faults, refused } = await runSchedule({
      rng: rng.fork(),
      net,
      agents,
      membership,
      history,
      leader: () => monitor.leader(),
      deadline: Date.now() + o.durationMs,
      holdMs: o.holdMs ?? { min: 1000, max: 4000 },
      restMs: o.restMs ?? { min: 1000, max: 3000 },
      ...(o.first ? { first: o.first } : {}),
      log,
    });
    await heal({ net, agents, membership });
    await membership.allVoters(membershipHealTimeoutMs);
    log(`chaos: healed; waiting for the workers to finish`);
    const codes = await Promise.all(workers.map((w) => exitWithin(w.child, workerGraceMs + settleMs * 2)));
    if (codes.some((c) => c !== 0)) throw new Error(`a worker failed (exit codes ${codes.join(', ')}); see ${o.dir}/worker-*.log`);
    const logs = await dumpLogs(net, o.dir, nodesArg);
    await history.close();
    const historyFiles = [join(o.dir, 'history-nemesis.jsonl'), ...workers.map((w) => w.history)];
    const result = checkHistory(await readHistory(historyFiles), logs);
    const report: ChaosReport = { seed: o.seed, network: net.kind, dir: o.dir, historyFiles, faults, refused, result, crashes: [...agents.crashes] };
    writeFileSync(join(o.dir, 'summary.json'), JSON.stringify(report, null, 2));
    return report;
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await admin?.close();
    await history.close();
    await agents.stopAll(5000);
    await net.close();
  }
}

function startWorker(net: TestNetwork, o: ChaosOptions, node: string, i: number, agents: AgentProcesses, extraMs: number): { child: ChildProcess; history: string } {
  const history = join(o.dir, `history-w${i + 1}.jsonl`);
  const args = [
    ...tsx,
    join(repoRoot, 'test', 'chaos', 'worker.ts'),
    ...['--name', `w${i + 1}`, '--history', history],
    ...['--addrs', agents.names.map((n) => agents.rpcAddr(n)).join(','), '--local', agents.rpcAddr(node)],
    ...['--producers', String(o.producersPerWorker ?? 2), '--duration-ms', String(o.durationMs + extraMs)],
  ];
  const child = spawnNode(net.clientWrap(node), args, createWriteStream(join(o.dir, `worker-w${i + 1}.log`)));
  return { child, history };
}

/** The probe's monitor: its lines become `leader` events; leader() is the latest poll's sole leader. */
function startMonitor(net: TestNetwork, dir: string, nodesArg: string, durationMs: number, history: HistoryWriter) {
  const argv = [...net.clientWrap('ctl'), process.execPath, ...tsx, join(repoRoot, 'test', 'chaos', 'probe.ts'), 'monitor', '--nodes', nodesArg, '--duration-ms', String(durationMs)];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(createWriteStream(join(dir, 'monitor.log')));
  /** The sole leader of the latest poll (none: no leader, or a stale one still claiming). */
  let current: string | undefined;
  let last: string | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const { time, leaders } = JSON.parse(line) as { time: number; leaders: string[] };
      const sole = leaders.length === 1 ? leaders[0] : undefined;
      if (sole !== undefined && sole !== last) history.write({ t: 'leader', node: sole, time });
      current = sole;
      last = sole ?? last;
    } catch {
      // not a monitor line
    }
  });
  const waitForLeader = async (timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (last === undefined) {
      if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms; see ${dir}/n*.log`);
      if (child.exitCode !== null) throw new Error(`the monitor exited (${child.exitCode}); see ${dir}/monitor.log`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, leader: () => current, waitForLeader };
}

async function dumpLogs(net: TestNetwork, dir: string, nodesArg: string): Promise<NodeLog[]> {
  const out = join(dir, 'final-logs.json');
  const timeoutMs = 90_000;
  const args = [...tsx, join(repoRoot, 'test', 'chaos', 'probe.ts'), 'dump', '--nodes', nodesArg, '--out', out, '--timeout-ms', String(timeoutMs)];
  const child = spawnNode(net.clientWrap('ctl'), args, createWriteStream(join(dir, 'dump.log')));
  const code = await exitWithin(child, timeoutMs + 30_000);
  if (code !== 0) throw new Error(`the nodes did not converge after the faults healed; see ${dir}/dump.log and ${dir}/n*.log`);
  return JSON.parse(readFileSync(out, 'utf8')) as NodeLog[];
}

/** The child's exit code; SIGKILL (and null) after timeoutMs. */
function exitWithin(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}
