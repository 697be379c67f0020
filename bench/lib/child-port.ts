/**
 * Benchmark reference servers that run in processes of their own (echo-server.ts,
 * replication-floor-node.ts): forked under tsx, each reports the port it listens on over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';

/** A child that does not report its port within this time is a failed start. */
const START_TIMEOUT_MS = 20_000;

/**
 * Forks `module` with `args`; `port` resolves with the port it reports, and rejects (naming
 * `label`) when it reports something else, exits first, or says nothing for 20 s. The child is
 * returned at once so that the caller can stop it whatever happens to `port`.
 */
export function forkReportingPort(module: string, args: string[], label: string): { child: ChildProcess; port: Promise<number> } {
  const child = fork(module, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start`)), START_TIMEOUT_MS);
    child.once('message', (m: unknown) => {
      clearTimeout(timer);
      const p = typeof m === 'object' && m !== null && 'port' in m ? Number(m.port) : NaN;
      if (Number.isInteger(p) && p > 0) resolve(p);
      else reject(new Error(`${label} reported ${JSON.stringify(m)}`));
    });
    child.once('exit', (code) => reject(new Error(`${label} exited with ${code}`)));
  });
  return { child, port };
}
