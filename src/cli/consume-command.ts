/** `replog consume`: records from --offset on; up to the current end, or following the tail with --follow. */
import { Command } from 'commander';
import { describeRpcError } from '../client/log-client.js';
import { ConfigError } from '../errors.js';
import type { ConsumedRecord } from '../replicated-log.js';
import { addClientOptions, connect, type ClientFlags } from './client-options.js';

interface ConsumeFlags extends ClientFlags {
  offset: string;
  count?: string;
  follow?: boolean;
  waitMs?: string;
  linearizable?: boolean;
}

export function consumeCommand(): Command {
  return addClientOptions(new Command('consume'))
    .description('print records from --offset on: up to the end of the log, or following new ones with --follow')
    .option('--offset <n>', 'first offset to read', '0')
    .option('--count <k>', 'stop after K records')
    .option('--follow', 'keep waiting for new records (until Ctrl-C or --count)')
    .option('--wait-ms <ms>', 'wait up to this long for the record at --offset if the node does not have it yet (server maximum 60000)')
    .option('--linearizable', 'the node confirms with the leader that it is up to date before answering (one extra round trip)')
    .action(async (flags: ConsumeFlags) => {
      const offset = nonNegative('--offset', flags.offset);
      const count = flags.count === undefined ? Infinity : nonNegative('--count', flags.count);
      const waitMs = flags.waitMs === undefined ? 0 : nonNegative('--wait-ms', flags.waitMs);
      const linearizable = flags.linearizable === true;
      const client = connect(flags);
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      let n = 0;
      const print = (r: ConsumedRecord): void => {
        const value = r.value.toString('utf8');
        process.stdout.write(flags.json ? `${JSON.stringify({ offset: r.offset, term: r.term, value })}\n` : `${value}\n`);
      };
      try {
        if (count === 0) return;
        let from = offset;
        if (waitMs > 0) {
          // The first record may not be there yet: one Consume that waits for it, then the stream.
          print(await client.consume(offset, { maxWaitMs: waitMs, linearizable }));
          if (++n >= count) return;
          from = offset + 1;
        }
        for await (const r of client.consumeStream(from, { untilHigh: !flags.follow, linearizable, signal: ac.signal })) {
          print(r);
          if (++n >= count) break;
        }
      } catch (err) {
        throw new Error(`consume failed: ${describeRpcError(err)}`, { cause: err });
      } finally {
        process.off('SIGINT', stop);
        client.close();
      }
    });
}

function nonNegative(option: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new ConfigError(option, `expected a non-negative integer, got "${text}"`);
  return n;
}
