/** Runs a short command to completion with a deadline (the deployment files' health checks, CLIs). */
import { execFile } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv (`node` = this node binary) and resolves with its exit code and output; killed after timeoutMs. */
export function runCommand(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000, cwd?: string): Promise<CommandResult> {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    execFile(file === 'node' ? process.execPath : (file ?? ''), args, { env, timeout: timeoutMs, cwd, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exit code of argv. */
export async function exitCode(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<number> {
  return (await runCommand(argv, env, timeoutMs)).code;
}
