/** `replog servers`: the cluster's members as the first reachable node of --addr knows them. */
import { Command } from 'commander';
import { describeRpcError } from '../client/log-client.js';
import { addClientOptions, connect, type ClientFlags } from './client-options.js';

export function serversCommand(): Command {
  return addClientOptions(new Command('servers'))
    .description('list the servers of the cluster, the leader marked')
    .action(async (flags: ClientFlags) => {
      const client = connect(flags);
      try {
        const servers = await client.servers();
        for (const s of servers) {
          process.stdout.write(flags.json ? `${JSON.stringify(s)}\n` : `${s.id}\t${s.rpcAddr}${s.isLeader ? '\tleader' : ''}\n`);
        }
      } catch (err) {
        throw new Error(`servers failed: ${describeRpcError(err)}`, { cause: err });
      } finally {
        client.close();
      }
    });
}
