/**
 * A reader that stalls longer than the server's stall limit has its ConsumeStream reset (the server
 * frees the memory it held, consume-stream.ts); ReplogClient resumes it at the next offset, so the
 * application sees every record once, in order, and no error.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ReplogClient } from '../../src/client/replog-client.js';
import { MemoryReplicatedLog } from '../../src/server/memory-replicated-log.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

describe('a stalled ConsumeStream reader', () => {
  let node: TestServer | undefined;
  let client: ReplogClient | undefined;
  afterEach(async () => {
    client?.close();
    await node?.close();
    node = client = undefined;
  });

  it('is reset by the server and resumed by the client at the next offset', async () => {
    const log = new MemoryReplicatedLog();
    const total = 3000;
    const value = Buffer.alloc(4096, 7);
    for (let i = 0; i < total; i += 100) await log.append(Array.from({ length: 100 }, () => value));
    node = await startTestServer({ log, limits: { stallTimeoutMs: 200 } });
    client = new ReplogClient({ addrs: [node.addr], refreshIntervalMs: 0 });
    const resetsBefore = node.grpc.consumeBudget.streamsReset();
    let expected = 0;
    for await (const r of client.consumeStream(0, { untilHigh: true, maxBatchRecords: 10 })) {
      expect(r.offset).toBe(expected);
      expected++;
      // Stall once, long enough for the server's limit, with megabytes still to send.
      if (expected === 20) await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    expect(expected).toBe(total);
    expect(node.grpc.consumeBudget.streamsReset()).toBeGreaterThan(resetsBefore);
  }, 30_000);
});
