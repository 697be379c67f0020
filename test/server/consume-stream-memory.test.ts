/**
 * What a ConsumeStream keeps alive while its client has not taken the messages yet: the byte count
 * of each batch in flight (for the budget), never the batch. grpc-js serializes a message when it
 * is written; a batch's records, and the read buffer their values view, must be garbage from then
 * on. Holding them until the client's HTTP/2 window took the message kept megabytes of young
 * objects alive across scavenges, so V8 promoted them and ran a major GC every few hundred
 * milliseconds under a fast batched reader. For the same reason the stream stops writing while
 * more than UNSENT_MAX_BYTES wait (grpc-js keeps a message as objects until the one before it is
 * sent), however large the batches the client allows.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ConsumeRequest, ConsumeResponse } from '../../src/gen/log/v1/log.js';
import type { ConsumedRecord, ReadBatchLimits } from '../../src/replicated-log.js';
import { UNSENT_MAX_BYTES, streamRecords } from '../../src/server/consume-stream.js';
import { MemoryReplicatedLog } from '../../src/server/memory-replicated-log.js';
import { StreamBudget } from '../../src/server/stream-budget.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Every batch is read into a buffer of its own, as from disk; the test watches each buffer. */
class FreshBufferLog extends MemoryReplicatedLog {
  readonly buffers: WeakRef<ArrayBufferLike>[] = [];

  override async readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]> {
    const stored = await super.readBatch(from, limits);
    const buf = Buffer.concat(stored.map((r) => r.value));
    this.buffers.push(new WeakRef(buf.buffer));
    let at = 0;
    return stored.map((r) => {
      const value = buf.subarray(at, at + r.value.length);
      at += r.value.length;
      return { offset: r.offset, term: r.term, value };
    });
  }
}

/**
 * A call whose client takes nothing: each message is serialized (and dropped) when written, as
 * grpc-js does, and its completion callback is held, never called.
 */
function stalledCall(): { call: ServerWritableStream<ConsumeRequest, ConsumeResponse>; pending: (() => void)[]; messages: () => number } {
  const pending: (() => void)[] = [];
  let messages = 0;
  const call = {
    sendMetadata: () => undefined,
    write: (msg: ConsumeResponse, cb?: () => void) => {
      messages += msg.record ? 1 : msg.records.length > 0 ? 1 : 0;
      if (cb) pending.push(cb);
      return true;
    },
  };
  return { call: call as unknown as ServerWritableStream<ConsumeRequest, ConsumeResponse>, pending, messages: () => messages };
}

describe('ConsumeStream memory', () => {
  it.each([
    { mode: 'batched', maxBatchRecords: 50 },
    { mode: 'one record per message', maxBatchRecords: 0 },
  ])('lets go of a written batch before the client takes it ($mode)', async ({ maxBatchRecords }) => {
    const log = new FreshBufferLog();
    for (let b = 0; b < 20; b++) await log.append(Array.from({ length: 50 }, (_, i) => Buffer.alloc(1024, (b * 50 + i) % 251)));
    const { call, pending, messages } = stalledCall();
    const abort = new AbortController();
    const maxBatchBytes = 50 * 1024;
    const limits = { readAheadRecords: 50, maxBatchRecords: 1000, maxBatchBytes, sendBudget: new StreamBudget(16 * maxBatchBytes), stallTimeoutMs: 600_000 };
    const req: ConsumeRequest = { offset: 0n, maxBatchRecords, maxBatchBytes, maxWaitMs: 0, linearizable: false };
    const done = streamRecords(call, req, log, limits, abort.signal);
    // The stream writes until more than a batch is in flight, then waits for the client.
    for (let i = 0; i < 100 && pending.length < 2; i++) await nextTurn();
    await nextTurn();
    expect(pending.length).toBe(2);
    expect(messages()).toBe(maxBatchRecords > 0 ? 2 : 100);
    gc();
    // Read so far: the two written batches and the one read ahead; only the read-ahead is held.
    expect(log.buffers.length).toBe(3);
    expect(log.buffers.slice(0, 2).map((r) => r.deref() === undefined)).toEqual([true, true]);
    // The client takes the first batch: the stream goes on from where it was.
    pending[0]?.();
    for (let i = 0; i < 100 && pending.length < 3; i++) await nextTurn();
    expect(pending.length).toBe(3);
    abort.abort();
    await done;
    expect(limits.sendBudget.usedBytes()).toBe(0);
  });

  it('writes no further batch while more than UNSENT_MAX_BYTES wait for the client, whatever its batch limit', async () => {
    const log = new FreshBufferLog();
    for (let b = 0; b < 20; b++) await log.append(Array.from({ length: 50 }, () => Buffer.alloc(1024, b)));
    const { call, pending } = stalledCall();
    const abort = new AbortController();
    const maxBatchBytes = 8 * 1024 * 1024;
    const limits = { readAheadRecords: 256, maxBatchRecords: 1000, maxBatchBytes, sendBudget: new StreamBudget(4 * maxBatchBytes), stallTimeoutMs: 600_000 };
    // Batches of 100 KiB, far below the 8 MiB the client allows.
    const req: ConsumeRequest = { offset: 0n, maxBatchRecords: 100, maxBatchBytes, maxWaitMs: 0, linearizable: false };
    const done = streamRecords(call, req, log, limits, abort.signal);
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) await nextTurn();
    };
    await settle();
    // 100, 200, then 300 KiB waiting: the third batch crosses the bound.
    const batchBytes = 100 * 1024;
    expect(pending.length).toBe(Math.floor(UNSENT_MAX_BYTES / batchBytes) + 1);
    pending[0]?.();
    await settle();
    expect(pending.length).toBe(Math.floor(UNSENT_MAX_BYTES / batchBytes) + 2);
    abort.abort();
    await done;
    expect(limits.sendBudget.usedBytes()).toBe(0);
  });

  it('gives a batch back to the shared budget once when writing it throws', async () => {
    const log = new FreshBufferLog();
    await log.append(Array.from({ length: 100 }, (_, i) => Buffer.alloc(1024, i)));
    const budget = new StreamBudget(1 << 20);
    // Another stream's reservation: it must still be there after this stream fails.
    await budget.acquire(100_000, new AbortController().signal);
    let writes = 0;
    const call = {
      sendMetadata: () => undefined,
      write: (_msg: ConsumeResponse, cb?: () => void) => {
        // The second batch is the one read ahead.
        if (++writes === 2) throw new Error('write failed');
        cb?.();
        return true;
      },
    } as unknown as ServerWritableStream<ConsumeRequest, ConsumeResponse>;
    const limits = { readAheadRecords: 10, maxBatchRecords: 1000, maxBatchBytes: 64 * 1024, sendBudget: budget, stallTimeoutMs: 600_000 };
    const req: ConsumeRequest = { offset: 0n, maxBatchRecords: 10, maxBatchBytes: 0, maxWaitMs: 0, linearizable: false };
    await expect(streamRecords(call, req, log, limits, new AbortController().signal)).rejects.toThrow('write failed');
    await nextTurn();
    expect(budget.usedBytes()).toBe(100_000);
  });
});
