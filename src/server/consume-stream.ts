/**
 * ConsumeStream: sends records from the requested offset on and then follows the tail until the
 * client cancels. Each batch read from the log is written to the call at once (one message per
 * record, or one message for the batch); the next batch is read while the client takes the last.
 *
 * Memory is bounded by what the client takes, not by what it asks for: a batch's bytes are
 * reserved from the node-wide StreamBudget before it is read and given back when grpc-js reports
 * the batch's last write done (it was handed on within the client's HTTP/2 flow-control window).
 * A stream writes its next batch only while at most UNSENT_MAX_BYTES are still on their way, and
 * holds one batch read ahead. A client that takes nothing for `stallTimeoutMs` while data waits
 * has its HTTP/2 stream reset (clients see RESOURCE_EXHAUSTED; SlowConsumerError), so
 * never-reading clients cannot pin the budget forever.
 */
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import { SlowConsumerError } from '../errors.js';
import type { ConsumeRequest, ConsumeResponse } from '../gen/log/v1/log.js';
import type { ConsumedRecord, ReplicatedLog } from '../replicated-log.js';
import { resetCallStream } from './reset-stream.js';
import { StreamBudget } from './stream-budget.js';
import { offsetFromWire, recordToWire } from './wire.js';

/**
 * Initial metadata of ConsumeStream: the highest committed offset when the stream started, so a
 * client that wants "everything up to now" knows where to stop (Kafka's high watermark).
 */
export const HIGH_OFFSET_METADATA_KEY = 'replog-high-offset';

/**
 * Bytes written to the call but not yet taken by HTTP/2 above which the stream waits before it
 * writes its next batch. grpc-js serializes a message only when the previous one's write is done,
 * so every batch written beyond the one being sent waits as objects (a record, a wire record and
 * a view per value), and objects that wait through a scavenge are promoted. When the bound was
 * the batch limit (8 MiB), a batched reader that fell behind kept about eight batches of 1000
 * records waiting, and V8 ran a major GC every few hundred milliseconds (bench-api 270k records/s
 * at 4-5 us of CPU each, against 380-450k at 2.4-2.8 us with this bound). Small batches still
 * pipeline: a few hundred records of them fit.
 */
export const UNSENT_MAX_BYTES = 256 * 1024;

/** Default of ConsumeStreamLimits.stallTimeoutMs. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

export interface ConsumeStreamLimits {
  /** Records read from the log at a time in one-record-per-message mode. */
  readAheadRecords: number;
  /** Upper bound of max_batch_records. */
  maxBatchRecords: number;
  /** Upper bound (and default) of max_batch_bytes. */
  maxBatchBytes: number;
  /** Bytes every stream of the node may hold for its client, together (GrpcApiServer makes one). */
  sendBudget?: StreamBudget;
  /** A stream whose client takes nothing for this long while data waits ends RESOURCE_EXHAUSTED. */
  stallTimeoutMs?: number;
}

type Call = ServerWritableStream<ConsumeRequest, ConsumeResponse>;

interface Batch {
  records: ConsumedRecord[];
  /** Value bytes, as reserved in the budget. */
  bytes: number;
}

/** Runs until the signal aborts (resolves) or an error (rejects). */
export async function streamRecords(call: Call, req: ConsumeRequest, log: ReplicatedLog, limits: ConsumeStreamLimits, signal: AbortSignal): Promise<void> {
  const batched = req.maxBatchRecords > 0;
  const maxRecords = batched ? Math.min(req.maxBatchRecords, limits.maxBatchRecords) : limits.readAheadRecords;
  const maxBytes = req.maxBatchBytes > 0 ? Math.min(req.maxBatchBytes, limits.maxBatchBytes) : limits.maxBatchBytes;
  const unsentMax = Math.min(maxBytes, UNSENT_MAX_BYTES);
  let next = offsetFromWire(req.offset, log);
  // Linearizable: the first response (and the high offset) reflects everything committed before the call.
  if (req.linearizable) await log.readBarrier(signal);
  const md = new Metadata();
  md.set(HIGH_OFFSET_METADATA_KEY, String(log.highestOffset()));
  call.sendMetadata(md);
  const budget = limits.sendBudget ?? new StreamBudget(3 * maxBytes);
  const inflight = new InFlight(budget, limits.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS);
  // Every wait below also ends when the client stalls (whatever the stream waits for then).
  const loop = AbortSignal.any([signal, inflight.stalled.signal]);
  const read = (from: number): Promise<Batch> => readReserved(log, budget, from, { maxRecords, maxBytes }, loop);
  let ahead: Promise<Batch> | undefined;
  // Writes a batch and moves `next` past it; false when there was nothing to write. A function of
  // its own so no variable of the loop below holds the batch while the loop waits for the client.
  const send = (batch: Batch): boolean => {
    // Cleared before the write: should it throw, `finally` must not release the batch again.
    ahead = undefined;
    const last = batch.records[batch.records.length - 1];
    if (last === undefined || loop.aborted) {
      budget.release(batch.bytes);
      return false;
    }
    next = last.offset + 1;
    inflight.write(call, batch, batched);
    return true;
  };
  try {
    while (!loop.aborted) {
      if (ahead === undefined && next > log.highestOffset()) await log.waitFor(next, loop);
      if (!send(await (ahead ?? read(next)))) continue;
      if (next <= log.highestOffset()) {
        ahead = read(next);
        // Awaited on the next turn; a failure meanwhile must not go unhandled.
        ahead.catch(() => undefined);
      }
      await inflight.waitBelow(unsentMax, loop);
    }
    if (!signal.aborted && inflight.stalled.signal.aborted) throw inflight.stalled.signal.reason;
  } catch (err) {
    if (signal.aborted || !inflight.stalled.signal.aborted) throw err;
    // The messages queued for a client that takes nothing would stay in memory until the
    // connection dies: drop them with the stream.
    resetCallStream(call);
    budget.countReset();
    throw inflight.stalled.signal.reason;
  } finally {
    inflight.close();
    if (ahead) void ahead.then((b) => budget.release(b.bytes), () => undefined);
  }
}

/** Reserves a batch's worth of budget, reads, and keeps exactly the bytes read reserved. */
async function readReserved(log: ReplicatedLog, budget: StreamBudget, from: number, limits: { maxRecords: number; maxBytes: number }, signal: AbortSignal): Promise<Batch> {
  await budget.acquire(limits.maxBytes, signal);
  let records: ConsumedRecord[];
  try {
    records = await log.readBatch(from, limits);
  } catch (err) {
    budget.release(limits.maxBytes);
    throw err;
  }
  const bytes = records.reduce((n, r) => n + r.value.length, 0);
  // One record may exceed maxBytes (a client asking for tiny batches): hold what was really read.
  if (bytes > limits.maxBytes) budget.forceAcquire(bytes - limits.maxBytes);
  else budget.release(limits.maxBytes - bytes);
  return { records, bytes };
}

/**
 * The batches of one stream written to the call whose last write has not completed yet, and the
 * stall watchdog: while bytes are in flight, some write must complete every `stallTimeoutMs`, or
 * `stalled` aborts with SlowConsumerError.
 */
class InFlight {
  readonly stalled = new AbortController();
  private bytes = 0;
  private closed = false;
  private progress: (() => void) | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly budget: StreamBudget,
    private readonly stallTimeoutMs: number,
  ) {}

  /** Writes the batch; its bytes go back to the budget when the call has taken its last message. */
  write(call: Call, batch: Batch, batched: boolean): void {
    if (this.bytes === 0) this.arm();
    const { bytes } = batch;
    this.bytes += bytes;
    // Holds the byte count only: the batch (its records and the buffer they view) is garbage once
    // grpc-js has serialized it, not when the client has taken it.
    const done = (): void => this.settle(bytes);
    if (batched) {
      call.write({ record: undefined, records: batch.records.map(recordToWire) }, done);
      return;
    }
    const lastIndex = batch.records.length - 1;
    batch.records.forEach((r, i) => call.write({ record: recordToWire(r), records: [] }, i === lastIndex ? done : undefined));
  }

  /** Resolves once at most `maxBytes` are in flight, or when the signal aborts. */
  waitBelow(maxBytes: number, signal: AbortSignal): Promise<void> {
    if (this.bytes <= maxBytes || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        this.progress = undefined;
        signal.removeEventListener('abort', finish);
        resolve();
      };
      this.progress = () => {
        if (this.bytes <= maxBytes) finish();
      };
      signal.addEventListener('abort', finish, { once: true });
    });
  }

  /** Gives back everything still in flight; completions after this are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.watchdog);
    this.budget.release(this.bytes);
    this.bytes = 0;
    this.progress?.();
  }

  private settle(bytes: number): void {
    if (this.closed) return;
    this.bytes -= bytes;
    this.budget.release(bytes);
    if (this.bytes > 0) this.arm();
    else clearTimeout(this.watchdog);
    this.progress?.();
  }

  private arm(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.stalled.abort(new SlowConsumerError(this.stallTimeoutMs, this.bytes)), this.stallTimeoutMs);
    this.watchdog.unref();
  }
}
