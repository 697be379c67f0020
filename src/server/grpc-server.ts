/**
 * The grpc-js server of one node: the log.v1 service plus grpc.health.v1. It listens on no port
 * of its own: the mux hands it connections through a connection injector.
 */
import { Server, ServerCredentials, type ConnectionInjector } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { LogService, type ConsumeResponse } from '../gen/log/v1/log.js';
import { decodeProduceRequest, encodeConsumeResponseInto, encodeProduceResponse } from '../codec/hot-codec.js';
import { Scratch } from '../util/scratch.js';
import { tolerantDeserializer } from './wire.js';
import { createLogService, type LogServiceHandle, type LogServiceOptions } from './log-service.js';
import { StreamBudget } from './stream-budget.js';
import { widenConnectionWindows, widenStreamWindow } from './http2-window.js';

/** Bytes of protobuf framing allowed on top of a message's values. */
const framingBytes = 64 * 1024;

/** HTTP/2 receive window per stream and per connection (HTTP/2's default: 64 KiB); see http2-window.ts. */
const receiveWindowBytes = 4 * 1024 * 1024;

/** Largest consume response encoded into the reused buffer (bigger ones get their own). */
const consumeScratchBytes = 16 * 1024 * 1024;

/** Default of GrpcServerOptions.maxConsumeBufferBytes. */
export const DEFAULT_MAX_CONSUME_BUFFER_BYTES = 128 * 1024 * 1024;

export interface GrpcServerOptions extends LogServiceOptions {
  /** Connections with no call for this long are closed (also ends half-open, hung ones). */
  idleConnectionTimeoutMs: number;
  maxConcurrentStreams: number;
  /**
   * Record bytes all ConsumeStreams together may hold for clients that have not taken them yet
   * (src/server/stream-budget.ts); streams wait for their share beyond it.
   */
  maxConsumeBufferBytes?: number;
}

export class GrpcApiServer {
  readonly server: Server;
  readonly injector: ConnectionInjector;
  private readonly health: HealthImplementation;
  private readonly service: LogServiceHandle;
  /** Shared by every ConsumeStream of this server (exposed for metrics and tests). */
  readonly consumeBudget: StreamBudget;
  /** False when grpc-js's internals changed shape and HTTP/2's 64 KiB windows stay (see http2-window.ts). */
  readonly receiveWindowWidened: boolean;
  private closing: Promise<void> | undefined;

  constructor(opts: GrpcServerOptions) {
    const maxMessageBytes = Math.max(opts.limits.maxRecordBytes, opts.limits.maxBatchBytes) + framingBytes;
    this.server = new Server({
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      'grpc.max_connection_idle_ms': opts.idleConnectionTimeoutMs,
      'grpc.max_concurrent_streams': opts.maxConcurrentStreams,
    });
    this.consumeBudget = new StreamBudget(opts.maxConsumeBufferBytes ?? DEFAULT_MAX_CONSUME_BUFFER_BYTES);
    this.service = createLogService({ ...opts, limits: { ...opts.limits, sendBudget: this.consumeBudget } });
    this.server.addService(tolerantService(), this.service.handlers);
    this.health = new HealthImplementation({ '': 'NOT_SERVING', 'log.v1.Log': 'NOT_SERVING' });
    this.health.addToServer(this.server);
    const windowed = widenStreamWindow(this.server, receiveWindowBytes);
    // TLS, when configured, is terminated by the mux: grpc-js sees decrypted sockets.
    this.injector = this.server.createConnectionInjector(ServerCredentials.createInsecure());
    this.receiveWindowWidened = windowed && widenConnectionWindows(this.server, receiveWindowBytes);
  }

  setServing(serving: boolean): void {
    const s = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', s);
    this.health.setStatus('log.v1.Log', s);
  }

  /**
   * Stops taking new calls and waits up to `timeoutMs` for running calls to finish, then cancels
   * what is left (streams that follow the tail never finish by themselves). Idempotent.
   */
  close(timeoutMs: number): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.setServing(false);
      this.service.stopStreams();
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, timeoutMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        this.injector.destroy();
        resolve();
      });
    });
    return this.closing;
  }
}

/**
 * LogService whose request deserializers never throw (see MalformedRequest), with the hand-written
 * codecs of src/codec/hot-codec.ts on the hot messages (wire-compatible with the generated ones).
 *
 * Consume responses are encoded into one reused buffer: grpc-js (1.14) copies a response into its
 * framed message inside `serializeMessage`, right after the serializer returns, and never keeps
 * the serializer's output. test/server/streams.test.ts checks it: two streams behind a stalled
 * connection, whose responses wait in HTTP/2 while the other's are encoded, get every record
 * intact (with grpc-js changed to send the serializer's buffer itself, that test fails). A fresh
 * megabyte per batch made the encoding copy slow (first touch of new memory) and added
 * young-generation collections for external memory.
 */
function tolerantService(): typeof LogService {
  const scratch = new Scratch(consumeScratchBytes);
  const encodeConsume = (msg: ConsumeResponse): Buffer => encodeConsumeResponseInto(msg, (n) => scratch.take(n));
  const wrap = <D extends { requestDeserialize: (b: Buffer) => unknown }>(d: D): D => ({
    ...d,
    requestDeserialize: tolerantDeserializer(d.requestDeserialize),
  });
  const fastProduce = { requestDeserialize: tolerantDeserializer(decodeProduceRequest), responseSerialize: encodeProduceResponse };
  return {
    produce: { ...LogService.produce, ...fastProduce },
    consume: { ...wrap(LogService.consume), responseSerialize: encodeConsume },
    consumeStream: { ...wrap(LogService.consumeStream), responseSerialize: encodeConsume },
    produceStream: { ...LogService.produceStream, ...fastProduce },
    getServers: wrap(LogService.getServers),
  };
}
