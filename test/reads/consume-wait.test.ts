import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { UnavailableError } from '../../src/errors.js';
import type { ConsumeRequest } from '../../src/gen/log/v1/log.js';
import { MemoryReplicatedLog } from '../../src/server/memory-replicated-log.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';
import { until } from '../helpers/wait.js';

/** A log whose linearizable read barrier fails as it does with no leader. */
class LeaderlessLog extends MemoryReplicatedLog {
  override readBarrier(): Promise<void> {
    return Promise.reject(new UnavailableError('no leader is known: a linearizable read needs one; retry shortly'));
  }
}

const req = (offset: number, maxWaitMs: number, linearizable = false): ConsumeRequest => ({ offset: BigInt(offset), maxBatchRecords: 0, maxBatchBytes: 0, maxWaitMs, linearizable });

function codeOf(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  return p.then(
    () => ({ code: status.OK, details: '' }),
    (err: ServiceError) => ({ code: err.code, details: err.details }),
  );
}

describe('Consume with max_wait_ms and linearizable', () => {
  let server: TestServer | undefined;
  let client: LogApiClient | undefined;
  afterEach(async () => {
    client?.close();
    await server?.close();
    server = undefined;
    client = undefined;
  });

  async function start(log = new MemoryReplicatedLog(), maxConsumeWaitMs = 60_000): Promise<{ log: MemoryReplicatedLog; client: LogApiClient }> {
    server = await startTestServer({ log, limits: { maxConsumeWaitMs } });
    client = new LogApiClient({ addr: server.addr, callTimeoutMs: 10_000 });
    return { log, client };
  }

  it('a waiting Consume is parked and answers as soon as the record is appended', async () => {
    const { log, client } = await start();
    const reading = client.consume(0, { maxWaitMs: 30_000 });
    await until(() => log.waitingReads() === 1, 'the consume to park');
    await log.append([Buffer.from('hello')]);
    const rec = await reading;
    expect(rec.offset).toBe(0);
    expect(rec.value.toString()).toBe('hello');
    expect(log.waitingReads()).toBe(0);
  });

  it('without max_wait_ms a missing offset is OUT_OF_RANGE at once ("not yet")', async () => {
    const { client } = await start();
    const r = await codeOf(client.consume(0));
    expect(r.code).toBe(status.OUT_OF_RANGE);
    expect(r.details).toContain('not yet');
  });

  it('at the end of the wait: OUT_OF_RANGE, and no waiter is left behind', async () => {
    const { log, client } = await start();
    await log.append([Buffer.from('a')]);
    const r = await codeOf(client.consume(5, { maxWaitMs: 50 }));
    expect(r.code).toBe(status.OUT_OF_RANGE);
    expect(r.details).toContain('offset 5 is not yet in the log: the log holds [0, 0]');
    expect(log.waitingReads()).toBe(0);
  });

  it("the server's maximum bounds a longer max_wait_ms", async () => {
    const { log, client } = await start(new MemoryReplicatedLog(), 50);
    const r = await codeOf(client.consume(0, { maxWaitMs: 3_600_000 }));
    expect(r.code).toBe(status.OUT_OF_RANGE);
    expect(log.waitingReads()).toBe(0);
  });

  it('an offset below the start does not wait: OUT_OF_RANGE "gone" with the lowest offset', async () => {
    const { client } = await start(new MemoryReplicatedLog({ initialOffset: 10 }));
    const r = await codeOf(client.consume(3, { maxWaitMs: 60_000 }));
    expect(r.code).toBe(status.OUT_OF_RANGE);
    expect(r.details).toContain('lowest available offset is 10');
  });

  it('many cancelled and expired waits release their waiters (no leak)', async () => {
    const { log, client } = await start();
    const n = 200;
    const calls = Array.from({ length: n }, (_, i) =>
      client.raw.consume(req(i, 60_000), new Metadata(), { deadline: Date.now() + 60_000 }, () => undefined),
    );
    await until(() => log.waitingReads() === n, `${n} consumes to park`);
    for (const c of calls) c.cancel();
    await until(() => log.waitingReads() === 0, 'every cancelled consume to release its waiter');
    // Deadlines: the call's own deadline ends the wait on the server too.
    const expiring = Array.from({ length: n }, (_, i) => codeOf(new Promise((resolve, reject) => {
      client.raw.consume(req(i, 60_000), new Metadata(), { deadline: Date.now() + 200 }, (err, res) => (err ? reject(err) : resolve(res)));
    })));
    const codes = await Promise.all(expiring);
    for (const c of codes) expect([status.DEADLINE_EXCEEDED, status.OUT_OF_RANGE]).toContain(c.code);
    await until(() => log.waitingReads() === 0, 'every expired consume to release its waiter');
    // The log still serves waits afterwards.
    const reading = client.consume(0, { maxWaitMs: 30_000 });
    await until(() => log.waitingReads() === 1, 'a new consume to park');
    await log.append([Buffer.from('x')]);
    expect((await reading).value.toString()).toBe('x');
  });

  it('linearizable Consume answers through the read barrier', async () => {
    const { log, client } = await start();
    await log.append([Buffer.from('v')]);
    expect((await client.consume(0, { linearizable: true })).value.toString()).toBe('v');
  });

  it('linearizable Consume and ConsumeStream fail UNAVAILABLE when no leader can confirm', async () => {
    const { log, client } = await start(new LeaderlessLog());
    await log.append([Buffer.from('v')]);
    const r = await codeOf(client.consume(0, { linearizable: true }));
    expect(r.code).toBe(status.UNAVAILABLE);
    expect(r.details).toContain('no leader');
    // Plain reads still work (possibly stale, never wrong).
    expect((await client.consume(0)).value.toString()).toBe('v');
    const stream = (async () => {
      for await (const rec of client.consumeStream(0, { linearizable: true, untilHigh: true })) return rec;
      return undefined;
    })();
    const s = await codeOf(stream);
    expect(s.code).toBe(status.UNAVAILABLE);
  });
});
