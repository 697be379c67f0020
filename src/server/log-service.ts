/**
 * The log.v1 service. It is written against ReplicatedLog only: it cannot tell a one-node log
 * from the Raft-replicated one. Every call is authorized first, every error becomes a status in
 * `toStatus`, and every finished call is counted in the metrics.
 */
import { status as Status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type ServerDuplexStream } from '@grpc/grpc-js';
import { ClosedError, asError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AppendResult, ProducerRef, ReplicatedLog } from '../replicated-log.js';
import type {
  ConsumeRequest,
  ConsumeResponse,
  GetServersRequest,
  GetServersResponse,
  LogServer,
  ProduceRequest,
  ProduceResponse,
} from '../gen/log/v1/log.js';
import { type Action, type Authorizer, type ServerSurfaceCall } from './auth.js';
import { consumeOne, remainingMs, type ConsumeWaitLimits } from './consume-one.js';
import { streamRecords, type ConsumeStreamLimits } from './consume-stream.js';
import type { ServerMetrics } from './metrics.js';
import { pipeProduces, producerOf } from './produce-stream.js';
import { isInternal, REQUEST_FAILED_METADATA_KEY, toStatus } from './status.js';
import { recordToWire, valuesOf, wellFormed, type RecordLimits } from './wire.js';

export interface LogServiceOptions {
  log: ReplicatedLog;
  authorizer: Authorizer;
  logger: Logger;
  metrics?: ServerMetrics;
  limits: RecordLimits & ConsumeStreamLimits & ConsumeWaitLimits & {
    /** Requests of one ProduceStream between "read" and "response written". */
    produceStreamInflightMax: number;
  };
}

export const defaultServiceLimits: LogServiceOptions['limits'] = {
  maxRecordBytes: 1024 * 1024,
  maxBatchBytes: 8 * 1024 * 1024,
  readAheadRecords: 256,
  maxBatchRecords: 10_000,
  produceStreamInflightMax: 1024,
  maxConsumeWaitMs: 60_000,
};

export interface LogServiceHandle {
  /** Register with `server.addService(LogService, handlers)`. */
  handlers: LogServer;
  /**
   * Shutdown, for the streams that never end by themselves: every ConsumeStream ends with
   * UNAVAILABLE; every ProduceStream stops reading, answers the requests it has read and ends OK
   * (clients keep one open for all their produces).
   */
  stopStreams(): void;
}

/** Builds the handlers of `LogService`. */
export function createLogService(opts: LogServiceOptions): LogServiceHandle {
  const { log, limits } = opts;
  const logger = opts.logger.child({ component: 'api' });
  const consumers = new Set<AbortController>();
  /** Open ProduceStreams: ended at shutdown once the requests read so far are answered. */
  const producers = new Set<AbortController>();

  const observe = (method: string, started: bigint, err: unknown): void => {
    const code = err === undefined ? Status.OK : toStatus(err).code;
    if (err !== undefined && isInternal(err)) logger.error({ err, method }, 'request failed with an internal error');
    else if (err !== undefined) logger.debug({ method, code: Status[code], err: errorMessage(err) }, 'request failed');
    opts.metrics?.observeCall(method, Status[code] ?? String(code), Number(process.hrtime.bigint() - started) / 1e9);
  };

  const unary = <Req, Res>(method: string, action: Action | 'identity', fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) => {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      const started = process.hrtime.bigint();
      authorized(opts.authorizer, call, action)
        .then(() => fn(wellFormed(call.request), call))
        .then(
          (res) => {
            callback(null, res);
            observe(method, started, undefined);
          },
          (err: unknown) => {
            callback(toStatus(err));
            observe(method, started, err);
          },
        );
    };
  };

  const produce = async (req: ProduceRequest): Promise<ProduceResponse> => {
    const values = valuesOf(wellFormed(req), limits);
    const producer = producerOf(req);
    if (!producer) return { offset: BigInt(await log.append(values)), count: values.length, duplicate: false };
    const r = await appendIdempotent(values, producer);
    return { offset: BigInt(r.offset), count: values.length, duplicate: r.duplicate };
  };

  const appendIdempotent = async (values: Buffer[], producer: ProducerRef): Promise<AppendResult> => {
    const r = await log.appendIdempotent(values, producer);
    if (r.duplicate) opts.metrics?.observeDuplicate(values.length);
    return r;
  };

  const consume = async (req: ConsumeRequest, call: ServerUnaryCall<ConsumeRequest, ConsumeResponse>): Promise<ConsumeResponse> => {
    const cancelled = new AbortController();
    const onCancel = (): void => cancelled.abort(new ClosedError('call'));
    call.once('cancelled', onCancel);
    try {
      const record = await consumeOne(log, req, { remainingMs: remainingMs(call.getDeadline()), cancelled: cancelled.signal }, limits);
      return { record: recordToWire(record), records: [] };
    } finally {
      call.off('cancelled', onCancel);
    }
  };

  const getServers = async (_req: GetServersRequest): Promise<GetServersResponse> => {
    const servers = await log.servers();
    return { servers: servers.map((s) => ({ id: s.id, rpcAddr: s.rpcAddr, isLeader: s.isLeader })) };
  };

  const consumeStream = (call: ServerWritableStream<ConsumeRequest, ConsumeResponse>): void => {
    const started = process.hrtime.bigint();
    const ac = new AbortController();
    consumers.add(ac);
    call.once('cancelled', () => ac.abort());
    authorized(opts.authorizer, call, 'consume')
      .then(() => streamRecords(call, wellFormed(call.request), log, limits, ac.signal))
      .then(
        () => observe('ConsumeStream', started, undefined),
        (err: unknown) => {
          if (ac.signal.aborted) return observe('ConsumeStream', started, undefined);
          call.emit('error', toStatus(err));
          observe('ConsumeStream', started, err);
        },
      )
      .finally(() => {
        consumers.delete(ac);
        if (ac.signal.reason instanceof ClosedError) call.emit('error', toStatus(ac.signal.reason));
      });
  };

  const metrics = opts.metrics;
  const streamHandlers = {
    values: (req: ProduceRequest) => valuesOf(wellFormed(req), limits),
    append: (values: Buffer[]) => log.append(values),
    appendIdempotent,
    answered: metrics && ((seconds: number) => metrics.observeStreamProduce(seconds)),
  };
  const streamLimits = { inflightMax: limits.produceStreamInflightMax, maxGroupBytes: limits.maxBatchBytes, maxGroupRecords: limits.maxBatchRecords };

  const produceStream = (call: ServerDuplexStream<ProduceRequest, ProduceResponse>): void => {
    const started = process.hrtime.bigint();
    const finish = new AbortController();
    producers.add(finish);
    let piped = false;
    authorized(opts.authorizer, call, 'produce')
      .then(() => {
        piped = true;
        return pipeProduces(call, streamHandlers, streamLimits, finish.signal);
      })
      .finally(() => producers.delete(finish))
      .then(
        () => {
          call.end();
          observe('ProduceStream', started, undefined);
        },
        (err: unknown) => {
          const st = toStatus(err);
          if (piped) st.metadata.set(REQUEST_FAILED_METADATA_KEY, '1');
          call.emit('error', st);
          observe('ProduceStream', started, err);
        },
      );
  };

  return {
    handlers: {
      produce: unary('Produce', 'produce', produce),
      consume: unary('Consume', 'consume', consume),
      getServers: unary('GetServers', 'identity', getServers),
      consumeStream,
      produceStream,
    },
    stopStreams: () => {
      for (const ac of producers) ac.abort();
      for (const ac of consumers) ac.abort(new ClosedError('server'));
    },
  };
}

/** GetServers needs a valid identity when TLS is on, but no ACL permission (clients route by it). */
function authorized(authorizer: Authorizer, call: ServerSurfaceCall, action: Action | 'identity'): Promise<void> {
  try {
    if (action === 'identity') authorizer.authenticate(call);
    else authorizer.authorize(call, action);
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(asError(err));
  }
}

