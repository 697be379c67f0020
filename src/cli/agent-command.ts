/**
 * `replog agent`: runs one node until SIGINT/SIGTERM, then shuts down cleanly (stop accepting,
 * finish in-flight calls, sync and close the log) and exits 0. A second signal exits at once.
 */
import { Command } from 'commander';
import { Agent } from '../agent/agent.js';
import { loadAgentConfig, logLevels } from '../config.js';
import { createLogger } from '../logger.js';

export function agentCommand(): Command {
  return new Command('agent')
    .description('run one replog node')
    .option('--config-file <file>', 'YAML file of options (same names as the flags, without --)')
    .option('--node-name <name>', 'this node\'s name (default: the host name)')
    .option('--data-dir <dir>', 'directory of the log (required)')
    .option('--bind-addr <host:port>', 'gossip address; its HOST is also where the RPC port listens (default 127.0.0.1:8401)')
    .option('--rpc-port <port>', 'port of the API (gRPC and Raft on one port; default 8400)')
    .option('--advertise-addr <host>', 'host told to clients and peers (default: the bind host)')
    .option('--bootstrap', 'start a new one-node cluster on an empty data dir')
    .option('--bootstrap-expect <n>', 'form a new cluster once exactly N nodes with empty data dirs know each other (no special first node)')
    .option('--start-join-addrs <list>', 'comma-separated gossip HOST:PORT seeds to join (retried until joined)')
    .option('--gossip-key <base64>', '32-byte key (base64) encrypting gossip with AES-256-GCM')
    .option('--peer-tls-cert-file <file>', 'certificate of this node for peer (Raft) mTLS')
    .option('--peer-tls-key-file <file>', 'private key for peer mTLS')
    .option('--peer-tls-ca-file <file>', 'CA that signs every peer certificate')
    .option('--leave-on-terminate', 'on SIGTERM leave the cluster for good (default: a restart, membership unchanged)')
    .option('--reap-timeout-ms <ms>', 'remove members dead this long, never below the bootstrap-expect size (0 = never; default 0)')
    .option('--raft-tick-ms <ms>', 'Raft tick (heartbeat interval; default 100)')
    .option('--raft-election-ticks <n>', 'ticks without a leader before an election (randomized up to 2x; default 10)')
    .option('--server-tls-cert-file <file>', 'server certificate (PEM); with the key and CA files enables mTLS')
    .option('--server-tls-key-file <file>', 'server private key (PEM)')
    .option('--server-tls-ca-file <file>', 'CA of client certificates (PEM)')
    .option('--acl-model-file <file>', 'casbin model (needs TLS)')
    .option('--acl-policy-file <file>', 'casbin policy: p, <CN or *>, *, <produce|consume|admin>')
    .option('--metrics-addr <host:port>', 'HTTP address of /metrics, /healthz and /readyz')
    .option('--sync <policy>', 'always | interval:MS | never (default always)')
    .option('--max-store-bytes <n>', 'segment store size before rolling')
    .option('--max-index-bytes <n>', 'segment index size before rolling')
    .option('--initial-offset <n>', 'offset of the first record of a new log')
    .option('--max-record-bytes <n>', 'largest record accepted (default 1 MiB)')
    .option('--max-batch-bytes <n>', 'largest batch request accepted (default 8 MiB)')
    .option('--max-connections <n>', 'most open connections on the API port')
    .option('--first-byte-timeout-ms <ms>', 'time a new connection has to send its first byte / finish TLS')
    .option('--shutdown-timeout-ms <ms>', 'time in-flight calls get to finish on shutdown')
    .option('--log-level <level>', logLevels.join(' | '))
    .action(async (flags: Record<string, unknown>) => {
      const config = loadAgentConfig({ flags, env: process.env });
      const logger = createLogger({ level: config.logLevel, base: { node: config.nodeName } });
      const agent = await Agent.start(config, logger);
      // A signal, or an admin Leave that completed, ends the process.
      const signal = await new Promise<NodeJS.Signals | 'left'>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        agent.onLeft = () => resolve('left');
      });
      const force = (): void => {
        logger.error('second signal: exiting without a clean shutdown');
        logger.flush();
        process.exit(1);
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      logger.info({ signal }, signal === 'left' ? 'left the cluster, shutting down' : 'signal received, shutting down');
      try {
        if (config.leaveOnTerminate && signal === 'SIGTERM') await agent.leave(config.shutdownTimeoutMs);
        await agent.close();
      } finally {
        logger.flush();
      }
    });
}
