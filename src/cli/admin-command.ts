/** `replog admin ...`: cluster administration (needs the `admin` permission). */
import { ChannelCredentials, Metadata } from '@grpc/grpc-js';
import { Command } from 'commander';
import { describeRpcError } from '../client/log-client.js';
import { AdminClient, type LeaveResponse } from '../gen/log/v1/log.js';
import { addClientOptions, parseAddrs, tlsOf, type ClientFlags } from './client-options.js';

export function adminCommand(): Command {
  const admin = new Command('admin').description('cluster administration (needs the admin permission)');
  admin.addCommand(
    addClientOptions(new Command('leave'))
      .description('make the node at --addr leave the cluster for good (leadership handed over, removed from the configuration, process exits)')
      .action(async (flags: ClientFlags) => {
        const addr = parseAddrs(flags.addr ?? process.env.REPLOG_ADDR ?? '127.0.0.1:8400')[0] ?? '';
        const tls = tlsOf(flags);
        const creds = tls ? ChannelCredentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null) : ChannelCredentials.createInsecure();
        const options = tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {};
        const client = new AdminClient(addr, creds, options);
        try {
          const res = await new Promise<LeaveResponse>((resolve, reject) =>
            client.leave({}, new Metadata(), { deadline: Date.now() + 60_000 }, (err, r) => (err ? reject(err) : resolve(r))),
          );
          process.stdout.write(flags.json ? `${JSON.stringify(res)}\n` : res.removed ? 'left the cluster\n' : 'left gossip; removal from the configuration not confirmed in time\n');
        } catch (err) {
          throw new Error(`admin leave failed: ${describeRpcError(err)}`, { cause: err });
        } finally {
          client.close();
        }
      }),
  );
  return admin;
}
