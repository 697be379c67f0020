/**
 * `replog status`: the cluster as its leader sees it (found through any node of --addr), with
 * each member's own figures. On a terminal the table redraws in place every --interval-ms (like
 * `top`) until Ctrl-C; `--once`, `--json` or a non-terminal stdout print once.
 */
import { Command } from 'commander';
import { ReplogAdminClient, type ClusterStatusView } from '../client/admin-client.js';
import { describeRpcError } from '../client/log-client.js';
import { addClientOptions, parseAddrs, tlsOf, type ClientFlags } from './client-options.js';
import { intOption } from './int-option.js';
import { renderStatus, type StatusSample } from './status-view.js';

interface StatusFlags extends ClientFlags {
  once?: boolean;
  intervalMs: string;
}

const clearScreen = '\x1b[H\x1b[J';
const hideCursor = '\x1b[?25l';
const showCursor = '\x1b[?25h';

export function statusCommand(): Command {
  return addClientOptions(new Command('status'))
    .description('show the cluster: every member\'s role, term, indexes, lag and throughput (live on a terminal; needs the admin permission)')
    .option('--once', 'print one table and exit')
    .option('--interval-ms <ms>', 'refresh interval of the live view', '1000')
    .action(async (flags: StatusFlags) => {
      const intervalMs = intOption('--interval-ms', flags.intervalMs, 100);
      const client = new ReplogAdminClient({
        addrs: parseAddrs(flags.addr ?? process.env.REPLOG_ADDR ?? '127.0.0.1:8400'),
        tls: tlsOf(flags),
        callTimeoutMs: Number(flags.timeoutMs ?? 30_000),
        probeTimeoutMs: Math.min(1000, intervalMs),
      });
      try {
        if (flags.json) process.stdout.write(`${JSON.stringify(await fetch(client))}\n`);
        else if (flags.once || !process.stdout.isTTY) process.stdout.write(renderStatus({ view: await fetch(client), atMs: Date.now() }, undefined));
        else await live(client, intervalMs);
      } finally {
        client.close();
      }
    });
}

async function fetch(client: ReplogAdminClient): Promise<ClusterStatusView> {
  try {
    return await client.clusterStatus();
  } catch (err) {
    throw new Error(`status failed: ${describeRpcError(err)}`, { cause: err });
  }
}

/** Redraws until SIGINT/SIGTERM; a failed sample shows its error and the next one retries. */
async function live(client: ReplogAdminClient, intervalMs: number): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.stdout.write(hideCursor);
  let prev: StatusSample | undefined;
  try {
    while (!stop.signal.aborted) {
      const started = Date.now();
      let frame: string;
      try {
        const sample = { view: await client.clusterStatus(), atMs: Date.now() };
        frame = renderStatus(sample, prev);
        prev = sample;
      } catch (err) {
        frame = `${new Date().toISOString()}  status failed: ${describeRpcError(err)} (retrying)\n`;
      }
      if (stop.signal.aborted) break;
      process.stdout.write(`${clearScreen}${frame}\nrefresh every ${intervalMs} ms; Ctrl-C to exit\n`);
      await sleep(Math.max(0, intervalMs - (Date.now() - started)), stop.signal);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdout.write(showCursor);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
