/** `replog produce`: values from the arguments (one batch) or one record per line of stdin (pipelined). */
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { describeRpcError } from '../client/log-client.js';
import { addClientOptions, connect, type ClientFlags } from './client-options.js';

interface ProduceFlags extends ClientFlags {
  batchRecords: string;
  retryUnknown?: boolean;
}

export function produceCommand(): Command {
  return addClientOptions(new Command('produce'))
    .description('append records: the VALUEs, or one record per line of stdin; prints their offsets')
    .argument('[value...]', 'values to append (none: read lines from stdin)')
    .option('--batch-records <n>', 'records per request when reading stdin (1 = one record per message)', '1000')
    .option('--retry-unknown', 'resend records whose outcome is unknown after a failure (at-least-once: may duplicate)')
    .action(async (values: string[], flags: ProduceFlags) => {
      const client = connect(flags, process.env, { retryUnknown: flags.retryUnknown === true });
      const print = (offset: number): void => {
        process.stdout.write(flags.json ? `${JSON.stringify({ offset })}\n` : `${offset}\n`);
      };
      try {
        if (values.length > 0) {
          const first = await client.produceBatch(values.map((v) => Buffer.from(v)));
          for (let i = 0; i < values.length; i++) print(first + i);
          return;
        }
        const results = client.produceStream(stdinLineGroups(), { batchRecords: Math.max(1, Number(flags.batchRecords) || 1000) });
        let unknown = 0;
        for await (const r of results) {
          if (r.type === 'ok') for (let i = 0; i < r.count; i++) print(r.offset + i);
          else unknown += reportUnknown(r.values, r.error.message);
        }
        if (unknown > 0) throw new Error(`${unknown} record(s) may or may not be appended (see above); rerun with --retry-unknown for at-least-once`);
      } catch (err) {
        throw new Error(`produce failed: ${describeRpcError(err)}`, { cause: err });
      } finally {
        client.close();
      }
    });
}

/** Says on stderr which lines have an unknown outcome (they are not printed on stdout). */
function reportUnknown(values: readonly Buffer[], reason: string): number {
  process.stderr.write(`replog: outcome unknown for ${values.length} record(s): ${reason}\n`);
  for (const v of values) process.stderr.write(`replog: unknown: ${v.toString('utf8')}\n`);
  return values.length;
}

/** Lines of stdin, grouped as they arrive (a group is sent at once, so interactive use works). */
async function* stdinLineGroups(): AsyncGenerator<Buffer[]> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let group: Buffer[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  lines.on('line', (line) => {
    group.push(Buffer.from(line));
    if (group.length >= 10_000) lines.pause();
    wake?.();
  });
  lines.once('close', () => {
    done = true;
    wake?.();
  });
  for (;;) {
    if (group.length === 0 && !done) await new Promise<void>((r) => (wake = r));
    wake = undefined;
    if (group.length > 0) {
      const out = group;
      group = [];
      lines.resume();
      yield out;
    } else if (done) {
      return;
    }
  }
}
