/**
 * A client that opens ConsumeStreams and never reads them (an HTTP/2 flow-control window of 1 KiB,
 * never opened further) while 200 MiB of records are on offer: the server reads no more than its
 * consume buffer budget, its memory does not grow with the log, the stalled streams are reset
 * after the stall limit, and a real client is served afterwards.
 */
import http2, { type ClientHttp2Stream } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { LogApiClient } from '../../src/client/log-client.js';
import { until } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';
import { MiB, SyntheticLog, liveBytes } from './helpers.js';

let node: TestServer | undefined;
let session: http2.ClientHttp2Session | undefined;
afterEach(async () => {
  session?.destroy();
  await node?.close();
  node = session = undefined;
});

/** A gRPC ConsumeStream request frame from offset 0: batch form (max_batch_records 1000) or not. */
function consumeRequest(batched: boolean): Buffer {
  const body = batched ? Buffer.from([0x10, 0xe8, 0x07]) : Buffer.alloc(0);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

describe('ConsumeStream memory with clients that never read', () => {
  it('stays bounded by the consume buffer budget while 200 MiB wait, and resets stalled streams', async () => {
    const log = new SyntheticLog(3200, 64 * 1024);
    const budgetBytes = 4 * MiB;
    node = await startTestServer({ log, limits: { maxBatchBytes: MiB, stallTimeoutMs: 1000 }, maxConsumeBufferBytes: budgetBytes });
    const before = liveBytes();
    session = http2.connect(`http://${node.addr}`, { settings: { initialWindowSize: 1024 } });
    session.on('error', () => undefined);
    const streams: ClientHttp2Stream[] = [];
    for (let i = 0; i < 8; i++) {
      const req = session.request({ ':method': 'POST', ':path': '/log.v1.Log/ConsumeStream', 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => undefined);
      req.end(consumeRequest(i % 2 === 0));
      req.pause(); // never read: the window stays at 1 KiB
      streams.push(req);
    }
    const budget = node.grpc.consumeBudget;
    // The server stops reading once the budget is spent (streams queue for it) - or, without the
    // protection, reads far beyond it.
    await until(() => budget.waiting() > 0 || log.readBytes > 8 * budgetBytes, 'the streams to queue for the consume budget');
    expect(log.readBytes).toBeLessThanOrEqual(2 * budgetBytes);
    expect(liveBytes() - before).toBeLessThan(32 * MiB);
    // Nobody reads: after the stall limit every stream is reset (RESOURCE_EXHAUSTED for a gRPC
    // client) and the budget comes back.
    await until(() => streams.every((s) => s.closed), 'the stalled streams to be reset', 30_000);
    expect(new Set(streams.map((s) => s.rstCode))).toEqual(new Set([http2.constants.NGHTTP2_ENHANCE_YOUR_CALM]));
    await until(() => budget.usedBytes() === 0, 'the budget to be given back');
    expect(log.readBytes).toBeLessThan(20 * budgetBytes);
    // A client that reads is served.
    const client = new LogApiClient({ addr: node.addr });
    try {
      let n = 0;
      for await (const r of client.consumeStream(0)) {
        expect(r.offset).toBe(n);
        expect(r.value[0]).toBe(n & 0xff);
        if (++n === 100) break;
      }
      expect(n).toBe(100);
    } finally {
      client.close();
    }
  });
});
