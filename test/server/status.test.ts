import { ChannelCredentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskFullError, LogFailedError, NotLeaderError, OffsetOutOfRangeError, UnavailableError } from '../../src/errors.js';
import { LogClient, type ProduceRequest } from '../../src/gen/log/v1/log.js';
import { MemoryReplicatedLog } from '../../src/server/memory-replicated-log.js';
import { LEADER_METADATA_KEY, toStatus } from '../../src/server/status.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

let server: TestServer | undefined;
let raw: LogClient | undefined;
let failure: Error | undefined;

afterEach(async () => {
  raw?.close();
  await server?.close();
  failure = undefined;
});

async function start(): Promise<LogClient> {
  const log = new MemoryReplicatedLog({ maxRecordBytes: 1024, failAppend: () => failure });
  server = await startTestServer({ log, limits: { maxRecordBytes: 1024, maxBatchBytes: 4096 } });
  raw = new LogClient(server.addr, ChannelCredentials.createInsecure());
  return raw;
}

const rec = (value: Buffer) => ({ value, offset: 0n, term: 0n, type: 0 });

function produceError(c: LogClient, req: ProduceRequest): Promise<ServiceError> {
  return new Promise((resolve, reject) =>
    c.produce(req, new Metadata(), { deadline: Date.now() + 10_000 }, (e) => (e ? resolve(e) : reject(new Error('produce succeeded')))),
  );
}

function consumeError(c: LogClient, offset: bigint): Promise<ServiceError> {
  return new Promise((resolve, reject) =>
    c.consume({ offset, maxBatchRecords: 0, maxBatchBytes: 0, maxWaitMs: 0, linearizable: false }, (e) => (e ? resolve(e) : reject(new Error('consume succeeded')))),
  );
}

describe('status codes on the wire', () => {
  it('OUT_OF_RANGE names the log low/high offsets, also above MAX_OFFSET', async () => {
    const c = await start();
    await new Promise((r) => c.produce({ record: rec(Buffer.from('x')), records: [], producerId: '', sequence: 0n }, r));
    const e = await consumeError(c, 5n);
    expect(e.code).toBe(status.OUT_OF_RANGE);
    expect(e.details).toContain('[0, 0]');
    expect((await consumeError(c, 2n ** 63n)).code).toBe(status.OUT_OF_RANGE);
  });

  it('INVALID_ARGUMENT: record too large, batch too large, both forms, no record', async () => {
    const c = await start();
    const big = await produceError(c, { record: rec(Buffer.alloc(1025)), records: [], producerId: '', sequence: 0n });
    expect(big.code).toBe(status.INVALID_ARGUMENT);
    expect(big.details).toContain('1025');
    const batch = await produceError(c, { record: undefined, records: Array.from({ length: 5 }, () => rec(Buffer.alloc(1000))), producerId: '', sequence: 0n });
    expect(batch.code).toBe(status.INVALID_ARGUMENT);
    expect((await produceError(c, { record: rec(Buffer.from('a')), records: [rec(Buffer.from('b'))], producerId: '', sequence: 0n })).code).toBe(status.INVALID_ARGUMENT);
    expect((await produceError(c, { record: undefined, records: [], producerId: '', sequence: 0n })).code).toBe(status.INVALID_ARGUMENT);
  });

  it('RESOURCE_EXHAUSTED when the disk is full', async () => {
    const c = await start();
    failure = new DiskFullError('write', '/data/0.store', Object.assign(new Error('no space'), { code: 'ENOSPC' }));
    const e = await produceError(c, { record: rec(Buffer.from('x')), records: [], producerId: '', sequence: 0n });
    expect(e.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(e.details).not.toContain('/data');
  });

  it('UNAVAILABLE with the leader in trailing metadata replog-leader', async () => {
    const c = await start();
    failure = new NotLeaderError('n2', '10.0.0.2:8400');
    const e = await produceError(c, { record: rec(Buffer.from('x')), records: [], producerId: '', sequence: 0n });
    expect(e.code).toBe(status.UNAVAILABLE);
    expect(e.metadata.get(LEADER_METADATA_KEY)).toEqual(['10.0.0.2:8400']);
    failure = new LogFailedError(new Error('EIO'));
    expect((await produceError(c, { record: rec(Buffer.from('x')), records: [], producerId: '', sequence: 0n })).code).toBe(status.UNAVAILABLE);
  });

  it('INTERNAL for anything else, without leaking its message', async () => {
    const c = await start();
    failure = new Error('secret at /var/lib/replog/00.store');
    const e = await produceError(c, { record: rec(Buffer.from('x')), records: [], producerId: '', sequence: 0n });
    expect(e.code).toBe(status.INTERNAL);
    expect(e.details).toBe('internal error');
  });
});

describe('toStatus', () => {
  it.each([
    [new OffsetOutOfRangeError(0, 5, 9), status.OUT_OF_RANGE],
    [new UnavailableError('no quorum'), status.UNAVAILABLE],
    [new NotLeaderError(), status.UNAVAILABLE],
    [new TypeError('x'), status.INTERNAL],
    ['a string', status.INTERNAL],
  ])('%s -> %i', (err, code) => {
    expect(toStatus(err).code).toBe(code);
  });

  it('sets replog-leader only when the leader is known', () => {
    expect(toStatus(new NotLeaderError()).metadata.get(LEADER_METADATA_KEY)).toEqual([]);
    expect(toStatus(new UnavailableError('x', 'h:1')).metadata.get(LEADER_METADATA_KEY)).toEqual(['h:1']);
  });
});
