/**
 * Idempotent producers over gRPC: status codes and metadata of refused sequences, duplicates
 * answered with the original's offset (unary and ProduceStream), and the default client's retries
 * of lost answers appending nothing twice.
 */
import { status as Status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/errors.js';
import { LogApiClient } from '../../src/client/log-client.js';
import { ReplogClient } from '../../src/client/replog-client.js';
import { isServiceError, producerProblem } from '../../src/client/rpc-status.js';
import type { AppendOptions, AppendResult, ProducerRef } from '../../src/replicated-log.js';
import { MemoryReplicatedLog } from '../../src/server/memory-replicated-log.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

/** Appends, then loses the answer `lose` times (the client sees UNAVAILABLE: outcome unknown). */
class LossyLog extends MemoryReplicatedLog {
  lose = 0;
  override async appendIdempotent(values: readonly Buffer[], producer: ProducerRef, opts?: AppendOptions): Promise<AppendResult> {
    const r = await super.appendIdempotent(values, producer, opts);
    if (this.lose > 0) {
      this.lose--;
      throw new UnavailableError('the answer was lost');
    }
    return r;
  }
}

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function server(log = new LossyLog()): Promise<{ srv: TestServer; log: LossyLog }> {
  const srv = await startTestServer({ log });
  closers.push(() => srv.close());
  return { srv, log };
}

async function contents(log: MemoryReplicatedLog): Promise<string[]> {
  if (log.highestOffset() < 0) return [];
  const rs = await log.readBatch(0, { maxRecords: 10_000, maxBytes: 1 << 30 });
  return rs.map((r) => r.value.toString());
}

const duplicateCount = async (srv: TestServer): Promise<number> => {
  const metric = await srv.metrics.registry.getSingleMetric('replog_producer_duplicate_records_total')?.get();
  return metric?.values[0]?.value ?? 0;
};

describe('idempotent produce over gRPC', () => {
  it('answers a repeated sequence with the original offset and refuses gaps and unknown producers with FAILED_PRECONDITION', async () => {
    const { srv } = await server();
    const api = new LogApiClient({ addr: srv.addr });
    closers.push(() => api.close());
    expect(await api.produce([Buffer.from('a'), Buffer.from('b')], { id: 'p1', sequence: 0 })).toBe(0);
    expect(await api.produce([Buffer.from('c')], { id: 'p2', sequence: 0 })).toBe(2);
    expect(await api.produce([Buffer.from('b')], { id: 'p1', sequence: 1 })).toBe(1);
    expect(await duplicateCount(srv)).toBe(1);

    const gap = await api.produce([Buffer.from('x')], { id: 'p1', sequence: 4 }).catch((e: unknown) => e);
    expect(isServiceError(gap) && gap.code).toBe(Status.FAILED_PRECONDITION);
    expect(producerProblem(gap)).toBe('gap');
    const unknown = await api.produce([Buffer.from('x')], { id: 'p3', sequence: 9 }).catch((e: unknown) => e);
    expect(producerProblem(unknown)).toBe('unknown-producer');
    const tooLong = await api.produce([Buffer.from('x')], { id: 'p'.repeat(256), sequence: 0 }).catch((e: unknown) => e);
    expect(isServiceError(tooLong) && tooLong.code).toBe(Status.INVALID_ARGUMENT);
  });

  it('the default client retries lost answers without duplicating (unary and ProduceStream)', async () => {
    const { srv, log } = await server();
    const client = new ReplogClient({ addrs: [srv.addr], retry: { maxAttempts: 8, baseBackoffMs: 5, maxBackoffMs: 20 } });
    closers.push(() => client.close());
    log.lose = 2;
    expect(await client.produce('a')).toBe(0);
    expect(await client.produceBatch([Buffer.from('b'), Buffer.from('c')])).toBe(1);
    log.lose = 1;
    const results = [];
    for await (const r of client.produceStream([[Buffer.from('d')], [Buffer.from('e')], [Buffer.from('f')]], { batchRecords: 1, inflightMax: 2 })) results.push(r);
    expect(results.every((r) => r.type === 'ok')).toBe(true);
    expect(await contents(log)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // The retries of "a" and "d" at least (a pipelined "e" may have been appended before the stream failed).
    expect(await duplicateCount(srv)).toBeGreaterThanOrEqual(2);
  });

  it('without idempotence a lost answer stays an unknown outcome (proglog behaviour)', async () => {
    const { srv } = await server();
    const client = new ReplogClient({ addrs: [srv.addr], idempotent: false });
    closers.push(() => client.close());
    expect(await client.produce('a')).toBe(0);
    expect(await contents(srv.log as MemoryReplicatedLog)).toEqual(['a']);
  });
});
