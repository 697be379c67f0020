/**
 * Server processes of the peer benchmark: each is spawned in its own process group, tracked by
 * PID, and stopped by PID (SIGTERM, then SIGKILL after a grace period) when its system is done,
 * when the run fails, on SIGINT/SIGTERM, and, as a last resort, when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

export interface Spawned {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Last lines the process printed (bounded), for error messages. */
  tail: string[];
}

const tailLinesMax = 40;
const live = new Set<Spawned>();

/** Starts `command`; its output is kept (last lines only) for diagnostics. */
export function startProcess(name: string, command: string, args: readonly string[]): Spawned {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (child.pid === undefined) throw new Error(`${name}: cannot start ${command}`);
  const proc: Spawned = { name, pid: child.pid, child, tail: [] };
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk: Buffer) => {
      proc.tail.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      proc.tail.splice(0, Math.max(0, proc.tail.length - tailLinesMax));
    });
  }
  track(proc);
  return proc;
}

/** Tracks a process started elsewhere (e.g. by LocalCluster) for the last-resort cleanup. */
export function trackChild(name: string, child: ChildProcess): void {
  if (child.pid !== undefined) track({ name, pid: child.pid, child, tail: [] });
}

function track(proc: Spawned): void {
  proc.child.once('exit', () => live.delete(proc));
  live.add(proc);
}

/** SIGTERM by PID, SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopProcess(proc: Spawned, graceMs = 10_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.child.once('exit', () => r()));
  signalPid(proc.pid, 'SIGTERM');
  const timer = setTimeout(() => signalPid(proc.pid, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(procs: readonly Spawned[]): Promise<void> {
  await Promise.all(procs.map((p) => stopProcess(p)));
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Installs the last-resort handlers: every live server is killed by PID on exit or a signal. */
export function installCleanupHandlers(onSignal: () => Promise<void>): void {
  process.once('exit', () => {
    for (const p of live) signalPid(p.pid, 'SIGKILL');
  });
  const handler = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nbench-peers: ${signal}: stopping every server...\n`);
    void onSignal()
      .then(() => stopAll([...live]))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

/** Free ports on 127.0.0.1 (checked for TCP and UDP), as local clusters take them. */
export { freePorts } from '../../src/cli/local-cluster.js';

/** Resolves once 127.0.0.1:`port` accepts connections; throws with the process's last lines after `timeoutMs`. */
export async function waitForPort(proc: Spawned, port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (code ${proc.child.exitCode}):\n${proc.tail.join('\n')}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${proc.name} did not listen on ${port} within ${timeoutMs} ms:\n${proc.tail.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Retries `op` until it succeeds or `timeoutMs` passes (servers that are up but not ready yet). */
export async function retryUntil<T>(what: string, timeoutMs: number, op: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
