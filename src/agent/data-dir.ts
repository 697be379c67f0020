/**
 * The start-up contract of ARCHITECTURE 7 for one node: the data dir either holds state (resume;
 * `--bootstrap` is ignored) or is empty (needs `--bootstrap`). The log lives in `<data-dir>/log`.
 */
import { access, constants, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, errnoCode } from '../errors.js';

export type StartMode = 'resume' | 'bootstrap';

/** The log directory inside a data dir. */
export function logDir(dataDir: string): string {
  return join(dataDir, 'log');
}

/** Decides resume or bootstrap; creates the data dir when bootstrapping. Throws ConfigError. */
export async function prepareDataDir(dataDir: string, bootstrap: boolean): Promise<StartMode> {
  const hasState = await isNonEmptyDir(logDir(dataDir));
  if (!hasState && !bootstrap) {
    throw new ConfigError('--bootstrap', `${dataDir} holds no log: add --bootstrap to start a new one-node cluster there`);
  }
  try {
    await mkdir(logDir(dataDir), { recursive: true });
    await access(logDir(dataDir), constants.W_OK);
  } catch (err) {
    throw new ConfigError('--data-dir', `${dataDir} is not writable (${errnoCode(err) ?? String(err)})`);
  }
  return hasState ? 'resume' : 'bootstrap';
}

async function isNonEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length > 0;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw new ConfigError('--data-dir', `cannot read ${path} (${errnoCode(err) ?? String(err)})`);
  }
}
