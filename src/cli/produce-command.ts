/** `replog produce`: values from the arguments (one batch) or one record per line of stdin (pipelined). */
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { describeRpcError } from '../client/log-client.js';
import { addClientOptions, connect, type ClientFlags } from './client-options.js';

interface ProduceFlags extends ClientFlags {
  batchRecords: string;
}

export function produceCommand(): Command {
  return addClientOptions(new Command('produce'))
    .description('append records: the VALUEs, or one record per line of stdin; prints their offsets')
    .argument('[value...]', 'values to append (none: read lines from stdin)')
    .option('--batch-records <n>', 'records per request when reading stdin (1 = one record per message)', '1000')
    .action(async (values: string[], flags: ProduceFlags) => {
      const client = connect(flags);
      const print = (offset: number): void => {
        process.stdout.write(flags.json ? `${JSON.stringify({ offset })}\n` : `${offset}\n`);
      };
      try {
        if (values.length > 0) {
          const first = await client.produce(values.map((v) => Buffer.from(v)));
          for (let i = 0; i < values.length; i++) print(first + i);
          return;
        }
        const batches = client.produceStream(stdinLineGroups(), { batchRecords: Math.max(1, Number(flags.batchRecords) || 1000) });
        for await (const b of batches) for (let i = 0; i < b.count; i++) print(b.offset + i);
      } catch (err) {
        throw new Error(`produce failed: ${describeRpcError(err)}`, { cause: err });
      } finally {
        client.close();
      }
    });
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
