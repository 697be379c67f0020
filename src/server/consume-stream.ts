/**
 * ConsumeStream: sends records from the requested offset on and then follows the tail until the
 * client cancels. Memory is bounded: at most one read batch is held, and nothing more is read
 * while the call's write buffer is full (call.write() returned false: wait for 'drain').
 */
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import type { ConsumeRequest, ConsumeResponse } from '../gen/log/v1/log.js';
import type { ReplicatedLog } from '../replicated-log.js';
import { offsetFromWire, recordToWire } from './wire.js';

/**
 * Initial metadata of ConsumeStream: the highest committed offset when the stream started, so a
 * client that wants "everything up to now" knows where to stop (Kafka's high watermark).
 */
export const HIGH_OFFSET_METADATA_KEY = 'replog-high-offset';

export interface ConsumeStreamLimits {
  /** Records read from the log at a time in one-record-per-message mode. */
  readAheadRecords: number;
  /** Upper bound of max_batch_records. */
  maxBatchRecords: number;
  /** Upper bound (and default) of max_batch_bytes. */
  maxBatchBytes: number;
}

type Call = ServerWritableStream<ConsumeRequest, ConsumeResponse>;

/** Runs until the signal aborts (resolves) or an error (rejects). */
export async function streamRecords(call: Call, req: ConsumeRequest, log: ReplicatedLog, limits: ConsumeStreamLimits, signal: AbortSignal): Promise<void> {
  const batched = req.maxBatchRecords > 0;
  const maxRecords = batched ? Math.min(req.maxBatchRecords, limits.maxBatchRecords) : limits.readAheadRecords;
  const maxBytes = req.maxBatchBytes > 0 ? Math.min(req.maxBatchBytes, limits.maxBatchBytes) : limits.maxBatchBytes;
  let next = offsetFromWire(req.offset, log);
  const md = new Metadata();
  md.set(HIGH_OFFSET_METADATA_KEY, String(log.highestOffset()));
  call.sendMetadata(md);
  while (!signal.aborted) {
    if (next > log.highestOffset()) await log.waitFor(next, signal);
    const batch = await log.readBatch(next, { maxRecords, maxBytes });
    if (batch.length === 0) continue;
    if (batched) {
      await send(call, { record: undefined, records: batch.map(recordToWire) }, signal);
    } else {
      for (const r of batch) await send(call, { record: recordToWire(r), records: [] }, signal);
    }
    next = batch[batch.length - 1]!.offset + 1;
  }
}

async function send(call: Call, msg: ConsumeResponse, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  if (call.write(msg)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
