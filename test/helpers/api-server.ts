/** An in-process API node for tests: mux + gRPC service over any ReplicatedLog, on 127.0.0.1:0. */
import { Mux, type MuxTls } from '../../src/mux/mux.js';
import { allowAll, type Authorizer } from '../../src/server/auth.js';
import { GrpcApiServer } from '../../src/server/grpc-server.js';
import { defaultServiceLimits, type LogServiceOptions } from '../../src/server/log-service.js';
import { MemoryReplicatedLog } from '../../src/server/memory-replicated-log.js';
import { ServerMetrics } from '../../src/server/metrics.js';
import type { ReplicatedLog } from '../../src/replicated-log.js';
import { silentLogger } from '../../src/logger.js';

export interface TestServerOptions {
  log?: ReplicatedLog;
  authorizer?: Authorizer;
  tls?: MuxTls;
  limits?: Partial<LogServiceOptions['limits']>;
  idleConnectionTimeoutMs?: number;
  firstByteTimeoutMs?: number;
  maxConnections?: number;
  maxPendingConnections?: number;
  maxConsumeBufferBytes?: number;
}

export interface TestServer {
  addr: string;
  host: string;
  port: number;
  log: ReplicatedLog;
  mux: Mux;
  grpc: GrpcApiServer;
  metrics: ServerMetrics;
  close(): Promise<void>;
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const log = opts.log ?? new MemoryReplicatedLog();
  const metrics = new ServerMetrics({ defaultMetrics: false });
  const grpc = new GrpcApiServer({
    log,
    authorizer: opts.authorizer ?? allowAll,
    logger: silentLogger(),
    metrics,
    limits: { ...defaultServiceLimits, ...opts.limits },
    idleConnectionTimeoutMs: opts.idleConnectionTimeoutMs ?? 60_000,
    maxConcurrentStreams: 1000,
    maxConsumeBufferBytes: opts.maxConsumeBufferBytes,
  });
  const mux = await Mux.listen({
    host: '127.0.0.1',
    port: 0,
    grpc: (s) => grpc.injector.injectConnection(s),
    tls: opts.tls,
    maxConnections: opts.maxConnections ?? 100,
    maxPendingConnections: opts.maxPendingConnections,
    firstByteTimeoutMs: opts.firstByteTimeoutMs ?? 5_000,
    logger: silentLogger(),
  });
  grpc.setServing(true);
  return {
    addr: `127.0.0.1:${mux.port()}`,
    host: '127.0.0.1',
    port: mux.port(),
    log,
    mux,
    grpc,
    metrics,
    async close() {
      await mux.close();
      await grpc.close(1_000);
      await log.close();
    },
  };
}
