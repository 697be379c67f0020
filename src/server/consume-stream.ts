/**
 * ConsumeStream: sends records from the requested offset on and then follows the tail until the
 * client cancels. Each batch read from the log is written to the call at once (one message per
 * record, or one message for the batch), without waiting between messages; the next batch is
 * read while the call's buffer drains. Memory is bounded: at most one batch is in the call's
 * write buffer and one is being read, and nothing more is read while the buffer is full
 * (call.write() returned false: wait for 'drain').
 */
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import type { ConsumeRequest, ConsumeResponse } from '../gen/log/v1/log.js';
import type { ConsumedRecord, ReplicatedLog } from '../replicated-log.js';
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
  const limitsOf = { maxRecords, maxBytes };
  let ahead: Promise<ConsumedRecord[]> | undefined;
  while (!signal.aborted) {
    if (ahead === undefined && next > log.highestOffset()) await log.waitFor(next, signal);
    const batch = await (ahead ?? log.readBatch(next, limitsOf));
    ahead = undefined;
    if (signal.aborted) break;
    const last = batch[batch.length - 1];
    if (last === undefined) continue;
    next = last.offset + 1;
    const writable = batched ? call.write({ record: undefined, records: batch.map(recordToWire) }) : writeEach(call, batch);
    if (next <= log.highestOffset()) {
      ahead = log.readBatch(next, limitsOf);
      // Awaited on the next turn; a failure while the buffer drains must not go unhandled.
      ahead.catch(() => undefined);
    }
    if (!writable) await drained(call, signal);
  }
}

/** One message per record; false when the call's buffer is full. */
function writeEach(call: Call, batch: readonly ConsumedRecord[]): boolean {
  let writable = true;
  for (const r of batch) writable = call.write({ record: recordToWire(r), records: [] });
  return writable;
}

function drained(call: Call, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
