/**
 * Helpers of the security suite: an in-process node (mux + gRPC) that exposes its parts, a log
 * that makes records up on read (so a test can offer a client hundreds of MB without holding
 * them), raw sockets, and memory readings after a forced GC.
 */
import { connect, type Socket } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Mux, type MuxTls } from '../../src/mux/mux.js';
import { allowAll, type Authorizer } from '../../src/server/auth.js';
import { GrpcApiServer } from '../../src/server/grpc-server.js';
import { defaultServiceLimits, type LogServiceOptions } from '../../src/server/log-service.js';
import { MemoryReplicatedLog } from '../../src/server/memory-replicated-log.js';
import type { ConsumedRecord, ReadBatchLimits, ReplicatedLog } from '../../src/replicated-log.js';
import { silentLogger } from '../../src/logger.js';

export interface SecureNodeOptions {
  log?: ReplicatedLog;
  authorizer?: Authorizer;
  tls?: MuxTls;
  limits?: Partial<LogServiceOptions['limits']>;
  maxConsumeBufferBytes?: number;
  maxConnections?: number;
  maxPendingConnections?: number;
  firstByteTimeoutMs?: number;
}

export interface SecureNode {
  addr: string;
  host: string;
  port: number;
  log: ReplicatedLog;
  mux: Mux;
  grpc: GrpcApiServer;
  close(): Promise<void>;
}

export async function startNode(opts: SecureNodeOptions = {}): Promise<SecureNode> {
  const log = opts.log ?? new MemoryReplicatedLog();
  const grpc = new GrpcApiServer({
    log,
    authorizer: opts.authorizer ?? allowAll,
    logger: silentLogger(),
    limits: { ...defaultServiceLimits, ...opts.limits },
    idleConnectionTimeoutMs: 60_000,
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
    async close() {
      await mux.close();
      await grpc.close(1_000);
      await log.close();
    },
  };
}

/**
 * `count` records of `recordBytes` each, made on every read (value bytes = offset & 0xff) and
 * never stored; `readBytes` counts what the server has read so far.
 */
export class SyntheticLog extends MemoryReplicatedLog {
  readBytes = 0;

  constructor(
    private readonly count: number,
    private readonly recordBytes: number,
  ) {
    super();
  }

  override readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]> {
    const out: ConsumedRecord[] = [];
    let bytes = 0;
    for (let o = from; o < this.count && out.length < limits.maxRecords; o++) {
      if (out.length > 0 && bytes + this.recordBytes > limits.maxBytes) break;
      out.push(this.make(o));
      bytes += this.recordBytes;
    }
    this.readBytes += bytes;
    return Promise.resolve(out);
  }

  override read(offset: number): Promise<ConsumedRecord> {
    return Promise.resolve(this.make(offset));
  }

  override highestOffset(): number {
    return this.count - 1;
  }

  private make(offset: number): ConsumedRecord {
    return { offset, value: Buffer.alloc(this.recordBytes, offset & 0xff), term: 1 };
  }
}

/** A plain TCP connection to the node; `closed()` turns true when the server hangs up. */
export function openSocket(node: { host: string; port: number }): Promise<{ sock: Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let closed = false;
    const sock = connect(node.port, node.host, () => resolve({ sock, closed: () => closed }));
    sock.on('error', () => undefined);
    sock.on('close', () => (closed = true));
    sock.once('error', reject);
  });
}

let gcFn: (() => void) | undefined;

/** Heap plus off-heap (Buffer) bytes of this process after a full GC. */
export function liveBytes(): number {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

export const MiB = 1024 * 1024;
