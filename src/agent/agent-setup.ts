/**
 * The agent's start-up helpers that touch the outside world: files named by options (TLS, ACL),
 * listening sockets (mux, gossip, metrics), the identity file. Each failure is a ConfigError that
 * names the option and the fix, in one line.
 */
import { readFile } from 'node:fs/promises';
import type { AgentConfig } from '../config.js';
import { ConfigError, errnoCode, errorMessage } from '../errors.js';
import type { NodeFileSystem } from '../log/index.js';
import type { Logger } from '../logger.js';
import { UdpTransport } from '../membership/index.js';
import { Mux, type MuxTls } from '../mux/mux.js';
import type { PeerTlsOptions } from '../raft/tcp-transport.js';
import { AclAuthorizer, allowAll, requireCertificate, type Authorizer } from '../server/auth.js';
import type { GrpcApiServer } from '../server/grpc-server.js';
import { MetricsHttpServer } from '../server/metrics-http.js';
import type { ServerMetrics } from '../server/metrics.js';
import type { ComponentStack } from './component-stack.js';
import { IdentityFile } from './identity.js';
import { splitHostPort } from '../config.js';

export async function openIdentity(fs: NodeFileSystem, config: AgentConfig): Promise<IdentityFile> {
  try {
    return await IdentityFile.open(fs, config.dataDir, config.nodeName);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('--data-dir', `${config.dataDir} is not usable (${errorMessage(err)})`);
  }
}

export async function bindGossip(config: AgentConfig, bind: { host: string; port: number }): Promise<UdpTransport> {
  try {
    return await UdpTransport.bind({ host: bind.host, port: bind.port });
  } catch (err) {
    throw new ConfigError('--bind-addr', `cannot bind the gossip port ${config.bindAddr}: ${describeListenError(err)}`);
  }
}

export async function loadPeerTls(config: AgentConfig): Promise<PeerTlsOptions | undefined> {
  const { peerTlsCertFile: cert, peerTlsKeyFile: key, peerTlsCaFile: ca } = config;
  if (cert === undefined || key === undefined || ca === undefined) return undefined;
  const files = {
    cert: await readOption('--peer-tls-cert-file', cert),
    key: await readOption('--peer-tls-key-file', key),
    ca: await readOption('--peer-tls-ca-file', ca),
  };
  // Peers are trusted by the CA alone: their certificates need not name their addresses.
  return { dial: { ...files, checkServerIdentity: () => undefined }, accept: files };
}

export async function readOption(option: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ConfigError(option, `cannot read ${path} (${errnoCode(err) ?? String(err)})`);
  }
}

export async function listenMux(config: AgentConfig, host: string, grpc: GrpcApiServer, tls: MuxTls | undefined, logger: Logger): Promise<Mux & { name: string }> {
  try {
    const mux = await Mux.listen({
      host,
      port: config.rpcPort,
      grpc: (sock) => grpc.injector.injectConnection(sock),
      tls,
      maxConnections: config.maxConnections,
      // A flood of unfinished connections evicts its own oldest, never keeps real clients out.
      maxPendingConnections: Math.max(1, Math.floor(config.maxConnections / 4)),
      firstByteTimeoutMs: config.firstByteTimeoutMs,
      logger,
    });
    return Object.assign(mux, { name: 'mux' });
  } catch (err) {
    throw new ConfigError('--rpc-port', `cannot listen on ${host}:${config.rpcPort}: ${describeListenError(err)}`);
  }
}

export async function startMetrics(config: AgentConfig, stack: ComponentStack, metrics: ServerMetrics, ready: () => boolean): Promise<MetricsHttpServer | undefined> {
  if (config.metricsAddr === undefined) return undefined;
  const addr = splitHostPort(config.metricsAddr);
  if (!addr) throw new ConfigError('--metrics-addr', `expected HOST:PORT, got ${config.metricsAddr}`);
  try {
    return await stack.start('metrics', async () =>
      Object.assign(await MetricsHttpServer.listen({ host: addr.host, port: addr.port, registry: metrics.registry, ready }), { name: 'metrics' }),
    );
  } catch (err) {
    throw new ConfigError('--metrics-addr', `cannot listen on ${config.metricsAddr}: ${describeListenError(err)}`);
  }
}

export async function loadTls(config: AgentConfig): Promise<MuxTls | undefined> {
  const { serverTlsCertFile: cert, serverTlsKeyFile: key, serverTlsCaFile: ca } = config;
  if (cert === undefined || key === undefined || ca === undefined) return undefined;
  return {
    cert: await readOption('--server-tls-cert-file', cert),
    key: await readOption('--server-tls-key-file', key),
    ca: await readOption('--server-tls-ca-file', ca),
  };
}

export async function buildAuthorizer(config: AgentConfig, tls: boolean): Promise<Authorizer> {
  if (config.aclModelFile !== undefined && config.aclPolicyFile !== undefined) {
    return AclAuthorizer.fromFiles(config.aclModelFile, config.aclPolicyFile);
  }
  return tls ? requireCertificate : allowAll;
}

export function describeListenError(err: unknown): string {
  const code = errnoCode(err);
  if (code === 'EADDRINUSE') return 'the address is already in use';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EADDRNOTAVAIL') return 'the address is not available on this machine';
  return errorMessage(err);
}
