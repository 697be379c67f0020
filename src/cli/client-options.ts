/** Flags shared by the client commands (produce, consume, servers): address, TLS, output. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ClientTls } from '../client/log-client.js';
import { ReplogClient } from '../client/replog-client.js';
import { hostPortSchema } from '../config.js';
import { ConfigError, errorMessage } from '../errors.js';

export interface ClientFlags {
  addr?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsCaFile?: string;
  tlsServerName?: string;
  timeoutMs?: string;
  json?: boolean;
}

export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--addr <host:port,...>', 'address of any node(s) of the cluster, comma-separated (default: $REPLOG_ADDR or 127.0.0.1:8400)')
    .option('--tls-cert-file <file>', 'client certificate (PEM); its CN is your identity')
    .option('--tls-key-file <file>', 'client private key (PEM)')
    .option('--tls-ca-file <file>', 'CA that signed the server certificate (PEM); enables TLS')
    .option('--tls-server-name <name>', 'name to verify in the server certificate (default: the host of --addr)')
    .option('--timeout-ms <ms>', 'deadline of each call', '30000')
    .option('--json', 'machine-readable output (one JSON object per line)');
}

/** A cluster client from the flags: `--addr` may name any nodes (comma-separated). */
export function connect(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env, extra: { retryUnknown?: boolean } = {}): ReplogClient {
  const addrs = parseAddrs(flags.addr ?? env.REPLOG_ADDR ?? '127.0.0.1:8400');
  const timeoutMs = Number(flags.timeoutMs ?? 30_000);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new ConfigError('--timeout-ms', `expected a positive integer, got "${flags.timeoutMs}"`);
  return new ReplogClient({ addrs, callTimeoutMs: timeoutMs, tls: tlsOf(flags), retryUnknown: extra.retryUnknown });
}

export function parseAddrs(text: string): string[] {
  const addrs = text.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  if (addrs.length === 0) throw new ConfigError('--addr', 'expected HOST:PORT[,HOST:PORT...], got nothing');
  for (const addr of addrs) {
    if (!hostPortSchema.safeParse(addr).success) throw new ConfigError('--addr', `expected HOST:PORT, got "${addr}"`);
  }
  return addrs;
}

export function tlsOf(flags: ClientFlags): ClientTls | undefined {
  if ((flags.tlsCertFile === undefined) !== (flags.tlsKeyFile === undefined)) {
    throw new ConfigError(flags.tlsCertFile === undefined ? '--tls-cert-file' : '--tls-key-file', 'a client certificate needs both --tls-cert-file and --tls-key-file');
  }
  if (flags.tlsCaFile === undefined) {
    if (flags.tlsCertFile !== undefined) throw new ConfigError('--tls-ca-file', 'TLS needs the CA of the server certificate');
    return undefined;
  }
  return {
    ca: read('--tls-ca-file', flags.tlsCaFile),
    cert: flags.tlsCertFile === undefined ? undefined : read('--tls-cert-file', flags.tlsCertFile),
    key: flags.tlsKeyFile === undefined ? undefined : read('--tls-key-file', flags.tlsKeyFile),
    serverName: flags.tlsServerName,
  };
}

function read(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(option, `cannot read ${path}: ${errorMessage(err)}`);
  }
}
