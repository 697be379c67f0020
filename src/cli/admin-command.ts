/**
 * `replog admin ...`: cluster administration (needs the `admin` permission). Membership and
 * leadership commands may be sent to any node: the client follows the leader hint. Node ids may
 * be given by name (`n2`) when the name is unique in the configuration, or in full (`n2/<uuid>`).
 */
import { Command } from 'commander';
import { ReplogAdminClient } from '../client/admin-client.js';
import { describeRpcError } from '../client/log-client.js';
import { ConfigError, MAX_OFFSET } from '../errors.js';
import { addClientOptions, parseAddrs, tlsOf, type ClientFlags } from './client-options.js';

interface AdminFlags extends ClientFlags {
  to?: string;
}

/** Runs one subcommand with its positional arguments. */
type Run = (client: ReplogAdminClient, args: string[], flags: AdminFlags) => Promise<unknown>;

/** One subcommand: builds the client from the shared flags, prints the result (text or --json). */
function subcommand(name: string, description: string, run: Run, text: (result: unknown) => string): Command {
  return addClientOptions(new Command(name))
    .description(description)
    .action(async (...args: unknown[]) => {
      // commander passes the positional arguments, then the options, then the command.
      const flags = (args[args.length - 2] ?? {}) as AdminFlags;
      const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
      const client = clientOf(flags);
      try {
        const result = await run(client, positional, flags);
        process.stdout.write(flags.json ? `${JSON.stringify(result ?? {})}\n` : text(result));
      } catch (err) {
        throw new Error(`admin ${name} failed: ${describeRpcError(err)}`, { cause: err });
      } finally {
        client.close();
      }
    });
}

function clientOf(flags: ClientFlags): ReplogAdminClient {
  const timeoutMs = Number(flags.timeoutMs ?? 30_000);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new ConfigError('--timeout-ms', `expected a positive integer, got "${flags.timeoutMs}"`);
  return new ReplogAdminClient({ addrs: parseAddrs(flags.addr ?? process.env.REPLOG_ADDR ?? '127.0.0.1:8400'), tls: tlsOf(flags), callTimeoutMs: timeoutMs });
}

function firstAddr(flags: ClientFlags): string {
  return parseAddrs(flags.addr ?? process.env.REPLOG_ADDR ?? '127.0.0.1:8400')[0] ?? '';
}

function parseLowest(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n > MAX_OFFSET) throw new ConfigError('LOWEST', `expected an offset, got "${text}"`);
  return n;
}

export function adminCommand(): Command {
  const admin = new Command('admin').description('cluster administration (needs the admin permission)');
  admin.addCommand(
    subcommand(
      'leave',
      'make the node at --addr leave the cluster for good (leadership handed over, removed from the configuration, process exits)',
      async (c, _args, flags) => ({ removed: await c.leave(firstAddr(flags)) }),
      (r) => ((r as { removed: boolean }).removed ? 'left the cluster\n' : 'left gossip; removal from the configuration not confirmed in time\n'),
    ),
  );
  admin.addCommand(
    subcommand(
      'transfer-leader',
      'hand leadership to --to ID (a voter), or to the most caught-up voter; waits until it moved',
      async (c, _args, flags) => ({ leaderId: await c.transferLeadership(flags.to) }),
      (r) => `leader is now ${(r as { leaderId: string }).leaderId}\n`,
    ).option('--to <id>', 'the voter to hand leadership to (name or name/uuid)'),
  );
  admin.addCommand(
    subcommand(
      'remove',
      'remove member ID from the configuration; it is not added back automatically while it runs (see docs/operations.md)',
      (c, [id]) => c.removeNode(id ?? ''),
      () => 'removed\n',
    ).argument('<id>', 'the member (name or name/uuid)'),
  );
  admin.addCommand(
    subcommand(
      'add-learner',
      'add ID (name of an alive gossip member, or name/uuid) as a non-voting member that replicates the log',
      (c, [id, addr]) => c.addLearner(id ?? '', addr ?? ''),
      () => 'added as a learner\n',
    )
      .argument('<id>', 'the new member (name/uuid; a name if gossip knows it)')
      .argument('[addr]', 'host:port of its API/Raft port (default: from gossip)'),
  );
  admin.addCommand(
    subcommand('promote', 'turn learner ID into a voter (refused until it caught up)', (c, [id]) => c.promote(id ?? ''), () => 'promoted\n').argument(
      '<id>',
      'the learner (name or name/uuid)',
    ),
  );
  admin.addCommand(
    subcommand(
      'truncate',
      'drop whole segments whose records all lie below LOWEST, on every member (never past the commit index)',
      async (c, [lowest]) => {
        const results = await c.truncateAll(parseLowest(lowest ?? ''));
        if (results.some((n) => n.error !== undefined)) process.exitCode = 1;
        return { nodes: results.map((n) => (n.error === undefined ? { id: n.id, lowestOffset: n.lowestOffset } : { id: n.id, error: describeRpcError(n.error) })) };
      },
      (r) =>
        (r as { nodes: { id: string; lowestOffset?: number; error?: string }[] }).nodes
          .map((n) => `${n.id}\t${n.error === undefined ? `lowest offset ${n.lowestOffset}` : `failed: ${n.error}`}\n`)
          .join(''),
    ).argument('<lowest>', 'the lowest offset to keep'),
  );
  return admin;
}
