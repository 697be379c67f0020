/**
 * The agent processes of a chaos run: one per node, started from the sources, each with its own
 * data dir, host address and log file; optionally behind a command prefix (`ip netns exec NS`,
 * which execs in place, so the child's pid is the agent's own). Process faults go to these pids
 * only: SIGKILL (then restart on the same data dir), SIGSTOP/SIGCONT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { FAST } from '../cluster/helpers.js';

export const repoRoot = join(import.meta.dirname, '..', '..');
const cliEntry = ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'run.ts')];

export interface AgentSpec {
  name: string;
  /** Where the agent binds (gossip UDP and the mux). */
  bindHost: string;
  /** What it tells peers and clients (a proxy's address in proxy mode). */
  advertiseHost: string;
  rpcPort: number;
  gossipPort: number;
  /** Command prefix, e.g. ['ip', 'netns', 'exec', 'ns1'] (empty: run directly). */
  wrap: string[];
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  paused: boolean;
}

/** The environment of a child: nothing of the test runner's REPLOG_* leaks in. */
export function childEnv(): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REPLOG_'))), NO_COLOR: '1' };
}

/** Spawns `node ARGS` behind `wrap`, appending its output to `log`. */
export function spawnNode(wrap: readonly string[], args: readonly string[], log: WriteStream): ChildProcess {
  const argv = [...wrap, process.execPath, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  return child;
}

export class AgentProcesses {
  private readonly running = new Map<string, Running>();
  private readonly logs = new Map<string, WriteStream>();
  /** Unexpected exits (not caused by kill()): a node that dies by itself is a finding. */
  readonly crashes: string[] = [];

  constructor(
    readonly specs: readonly AgentSpec[],
    private readonly dir: string,
  ) {
    for (const s of specs) mkdirSync(join(dir, s.name), { recursive: true });
  }

  get names(): string[] {
    return this.specs.map((s) => s.name);
  }

  logPath(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  rpcAddr(name: string): string {
    const s = this.spec(name);
    return `${s.advertiseHost}:${s.rpcPort}`;
  }

  isUp(name: string): boolean {
    const r = this.running.get(name);
    return r !== undefined && !r.paused;
  }

  start(name: string): void {
    if (this.running.has(name)) throw new Error(`${name} is running`);
    const s = this.spec(name);
    const seeds = this.specs.map((x) => `${x.advertiseHost}:${x.gossipPort}`).join(',');
    const args = [
      ...cliEntry,
      'agent',
      ...['--node-name', s.name, '--data-dir', join(this.dir, s.name)],
      ...['--bind-addr', `${s.bindHost}:${s.gossipPort}`, '--rpc-port', String(s.rpcPort), '--advertise-addr', s.advertiseHost],
      ...['--bootstrap-expect', String(this.specs.length), '--start-join-addrs', seeds],
      ...FAST,
    ];
    let log = this.logs.get(name);
    if (!log) {
      log = createWriteStream(this.logPath(name), { flags: 'a' });
      this.logs.set(name, log);
    }
    const child = spawnNode(s.wrap, args, log);
    const entry: Running = { child, paused: false, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
    child.once('exit', (code, signal) => {
      if (this.running.get(name) !== entry) return;
      this.running.delete(name);
      this.crashes.push(`${name} exited by itself (code ${code}, signal ${signal})`);
    });
    this.running.set(name, entry);
  }

  startAll(): void {
    for (const name of this.names) this.start(name);
  }

  /** kill -9 of our own child, by pid; resolves once it is gone. */
  async kill(name: string): Promise<void> {
    const r = this.running.get(name);
    if (!r) return;
    this.running.delete(name);
    r.child.kill('SIGKILL');
    await r.exited;
  }

  pause(name: string): void {
    const r = this.running.get(name);
    if (!r || r.paused) return;
    r.child.kill('SIGSTOP');
    r.paused = true;
  }

  resume(name: string): void {
    const r = this.running.get(name);
    if (!r?.paused) return;
    r.child.kill('SIGCONT');
    r.paused = false;
  }

  /** Every node running and not paused (restarts the killed ones). */
  async heal(): Promise<void> {
    for (const name of this.names) {
      this.resume(name);
      if (!this.running.has(name)) this.start(name);
    }
    await Promise.resolve();
  }

  /** SIGTERM (after SIGCONT) to every agent, SIGKILL after graceMs; closes the log files. Idempotent. */
  async stopAll(graceMs = 10_000): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(
      all.map(async (r) => {
        r.child.kill('SIGCONT');
        r.child.kill('SIGTERM');
        const timer = setTimeout(() => r.child.kill('SIGKILL'), graceMs);
        await r.exited;
        clearTimeout(timer);
      }),
    );
    await Promise.all([...this.logs.values()].map((l) => new Promise<void>((resolve) => l.end(() => resolve()))));
    this.logs.clear();
  }

  private spec(name: string): AgentSpec {
    const s = this.specs.find((x) => x.name === name);
    if (!s) throw new Error(`no node ${name}`);
    return s;
  }
}
