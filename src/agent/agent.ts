/**
 * One replog node (no replication yet): the segmented log behind LocalReplicatedLog, the log.v1
 * gRPC service and health service behind the one-port mux, optional mTLS + ACL, and the
 * metrics HTTP server. Components start in order and close in reverse.
 */
import { readFile } from 'node:fs/promises';
import type { AgentConfig } from '../config.js';
import { splitHostPort } from '../config.js';
import { ConfigError, errnoCode } from '../errors.js';
import { Log, parseSyncPolicy } from '../log/index.js';
import type { Logger } from '../logger.js';
import { Mux, type MuxTls } from '../mux/mux.js';
import { AclAuthorizer, allowAll, requireCertificate, type Authorizer } from '../server/auth.js';
import { GrpcApiServer } from '../server/grpc-server.js';
import { LocalReplicatedLog } from '../server/local-replicated-log.js';
import { defaultServiceLimits } from '../server/log-service.js';
import { MetricsHttpServer } from '../server/metrics-http.js';
import { ServerMetrics } from '../server/metrics.js';
import { ComponentStack } from './component-stack.js';
import { logDir, prepareDataDir } from './data-dir.js';

/** Connections with no call for this long are closed by the gRPC server. */
const idleConnectionTimeoutMs = 5 * 60_000;

export class Agent {
  private ready = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly config: AgentConfig,
    private readonly logger: Logger,
    private readonly stack: ComponentStack,
    private readonly mux: Mux,
    private readonly metricsHttp: MetricsHttpServer | undefined,
    private readonly grpc: GrpcApiServer,
    readonly log: LocalReplicatedLog,
  ) {}

  /** Starts every component; on failure closes what started and rethrows. */
  static async start(config: AgentConfig, rootLogger: Logger): Promise<Agent> {
    const logger = rootLogger.child({ component: 'agent' });
    const stack = new ComponentStack(logger);
    try {
      return await Agent.startComponents(config, rootLogger, logger, stack);
    } catch (err) {
      await stack.close().catch(() => undefined);
      throw err;
    }
  }

  private static async startComponents(config: AgentConfig, rootLogger: Logger, logger: Logger, stack: ComponentStack): Promise<Agent> {
    const tls = await loadTls(config);
    const authorizer = await buildAuthorizer(config, tls !== undefined);
    const mode = await prepareDataDir(config.dataDir, config.bootstrap);
    if (mode === 'resume' && config.bootstrap) logger.info('the data dir holds a log: resuming it, --bootstrap is ignored');
    const metrics = new ServerMetrics();
    const bind = splitHostPort(config.bindAddr);
    if (!bind) throw new ConfigError('--bind-addr', `expected HOST:PORT, got ${config.bindAddr}`);
    const log = await stack.start('log', async () => {
      const raw = await Log.open(logDir(config.dataDir), {
        segment: { maxStoreBytes: config.maxStoreBytes, maxIndexBytes: config.maxIndexBytes, initialOffset: config.initialOffset },
        maxRecordBytes: config.maxRecordBytes,
        sync: parseSyncPolicy(config.sync),
        logger: rootLogger,
        onFsync: metrics.observeFsync,
      });
      const rpcAddr = `${config.advertiseAddr ?? bind.host}:${config.rpcPort}`;
      return Object.assign(new LocalReplicatedLog(raw, { id: config.nodeName, rpcAddr, isLeader: true }), { name: 'log' });
    });
    metrics.setLogStats(() => log.stats());
    const grpc = new GrpcApiServer({
      log,
      authorizer,
      logger: rootLogger,
      metrics,
      limits: { ...defaultServiceLimits, maxRecordBytes: config.maxRecordBytes, maxBatchBytes: config.maxBatchBytes },
      idleConnectionTimeoutMs,
      maxConcurrentStreams: 1000,
    });
    stack.push('grpc', () => grpc.close(config.shutdownTimeoutMs));
    const mux = await stack.start('mux', () => listenMux(config, bind.host, grpc, tls, rootLogger));
    const metricsHttp = await startMetrics(config, stack, metrics, () => agent.ready);
    const agent = new Agent(config, logger, stack, mux, metricsHttp, grpc, log);
    grpc.setServing(true);
    agent.ready = true;
    logger.info(
      {
        rpcAddr: agent.rpcAddr(),
        metricsAddr: metricsHttp?.address(),
        dataDir: config.dataDir,
        mode,
        tls: tls !== undefined,
        authorization: authorizer instanceof AclAuthorizer ? 'acl' : tls ? 'any valid client certificate' : 'off',
        sync: config.sync,
      },
      tls ? 'agent started' : 'agent started: plaintext, authorization off (no --server-tls-* flags)',
    );
    return agent;
  }

  /** `host:port` the API listens on (the bound port). */
  rpcAddr(): string {
    return `${splitHostPort(this.config.bindAddr)?.host ?? '127.0.0.1'}:${this.mux.port()}`;
  }

  metricsAddr(): string | undefined {
    return this.metricsHttp?.address();
  }

  isReady(): boolean {
    return this.ready;
  }

  /**
   * Graceful stop: not ready, stop accepting connections, let in-flight calls finish (up to
   * shutdownTimeoutMs), then sync and close the log. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ready = false;
      this.grpc.setServing(false);
      this.logger.info('agent stopping');
      await this.stack.close();
      this.logger.info('agent stopped');
    })();
    return this.closing;
  }
}

async function listenMux(config: AgentConfig, host: string, grpc: GrpcApiServer, tls: MuxTls | undefined, logger: Logger): Promise<Mux & { name: string }> {
  try {
    const mux = await Mux.listen({
      host,
      port: config.rpcPort,
      grpc: (sock) => grpc.injector.injectConnection(sock),
      tls,
      maxConnections: config.maxConnections,
      firstByteTimeoutMs: config.firstByteTimeoutMs,
      logger,
    });
    return Object.assign(mux, { name: 'mux' });
  } catch (err) {
    throw new ConfigError('--rpc-port', `cannot listen on ${host}:${config.rpcPort}: ${describeListenError(err)}`);
  }
}

async function startMetrics(config: AgentConfig, stack: ComponentStack, metrics: ServerMetrics, ready: () => boolean): Promise<MetricsHttpServer | undefined> {
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

async function loadTls(config: AgentConfig): Promise<MuxTls | undefined> {
  const { serverTlsCertFile: cert, serverTlsKeyFile: key, serverTlsCaFile: ca } = config;
  if (cert === undefined || key === undefined || ca === undefined) return undefined;
  const read = async (option: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new ConfigError(option, `cannot read ${path} (${errnoCode(err) ?? String(err)})`);
    }
  };
  return {
    cert: await read('--server-tls-cert-file', cert),
    key: await read('--server-tls-key-file', key),
    ca: await read('--server-tls-ca-file', ca),
  };
}

async function buildAuthorizer(config: AgentConfig, tls: boolean): Promise<Authorizer> {
  if (config.aclModelFile !== undefined && config.aclPolicyFile !== undefined) {
    return AclAuthorizer.fromFiles(config.aclModelFile, config.aclPolicyFile);
  }
  return tls ? requireCertificate : allowAll;
}

function describeListenError(err: unknown): string {
  const code = errnoCode(err);
  if (code === 'EADDRINUSE') return 'the address is already in use';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EADDRNOTAVAIL') return 'the address is not available on this machine';
  return err instanceof Error ? err.message : String(err);
}
