/**
 * Runs work against a throw-away local cluster: N agent processes (sync always) in a temporary
 * directory, stopped by PID and removed afterwards, also when the work fails or the process
 * gets SIGINT/SIGTERM (and SIGKILLed by PID if this process exits without stopping them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../local-cluster.js';

export interface LocalClusterRunOptions {
  nodes: number;
  /** Extra agent flags (e.g. faster Raft timings in tests). */
  agentArgs?: readonly string[];
  leaderTimeoutMs?: number;
  /** Receives node log lines (warnings and errors only; the agents run at --log-level warn). */
  onLine?: (node: string, line: string) => void;
}

export async function withLocalCluster<T>(opts: LocalClusterRunOptions, work: (addrs: string[]) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'replog-bench-'));
  let cluster: LocalCluster | undefined;
  const killNow = (): void => {
    for (const node of cluster?.nodes ?? []) {
      const pid = node.process?.pid;
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nreplog bench: ${signal}: stopping the local cluster...\n`);
    void (cluster?.stop(5_000) ?? Promise.resolve()).finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killNow);
  try {
    cluster = await LocalCluster.start({
      nodes: opts.nodes,
      dataDir: dir,
      basePort: 0,
      agentArgs: ['--sync', 'always', '--log-level', 'warn', ...(opts.agentArgs ?? [])],
      onLine: (node, line) => opts.onLine?.(node.name, line),
    });
    const servers = await cluster.waitForLeader(opts.leaderTimeoutMs ?? 60_000);
    return await work(servers.map((s) => s.rpcAddr));
  } finally {
    await cluster?.stop(10_000);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killNow);
    rmSync(dir, { recursive: true, force: true });
  }
}
