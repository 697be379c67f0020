/**
 * The unary Consume: one record, optionally after a linearizable read barrier (`linearizable`)
 * and optionally waiting for an offset that is not committed here yet (`max_wait_ms`). The wait is
 * parked on the log's waiters (no polling) and bounded three ways: the request's max_wait_ms, the
 * server's maximum, and the call's own deadline; a cancelled call releases its waiter at once.
 * At the end of the wait the read answers as it would have at once: OUT_OF_RANGE ("not yet").
 */
import { TimeoutError, UnavailableError } from '../errors.js';
import type { ConsumeRequest } from '../gen/log/v1/log.js';
import type { ConsumedRecord, ReplicatedLog } from '../replicated-log.js';
import { deadlineSignal } from '../util/deadline-signal.js';
import { offsetFromWire } from './wire.js';

export interface ConsumeWaitLimits {
  /** Upper bound of a Consume's max_wait_ms (a larger request waits this long). */
  maxConsumeWaitMs: number;
}

/** What the handler knows about its call: when it must end, and whether the client went away. */
export interface CallScope {
  /** Milliseconds left before the call's deadline (Infinity when it has none). */
  remainingMs: number;
  /** Aborts when the client cancels the call. */
  cancelled: AbortSignal;
}

/** Reads the record `req` names, honouring linearizable and max_wait_ms. */
export async function consumeOne(log: ReplicatedLog, req: ConsumeRequest, scope: CallScope, limits: ConsumeWaitLimits): Promise<ConsumedRecord> {
  const offset = offsetFromWire(req.offset, log);
  const waitMs = Math.min(req.maxWaitMs, limits.maxConsumeWaitMs, scope.remainingMs);
  if (!req.linearizable && (waitMs <= 0 || offset <= log.highestOffset())) return log.read(offset);
  const call = deadlineSignal(scope.remainingMs, () => new TimeoutError('the call deadline passed'), scope.cancelled);
  try {
    if (req.linearizable) await log.readBarrier(call.signal);
    if (waitMs > 0 && offset > log.highestOffset()) await waitForOffset(log, offset, waitMs, call.signal);
    return await log.read(offset);
  } finally {
    call.dispose();
  }
}

/** Waits up to `waitMs` for `offset` to be readable; returns either way (the read decides). */
async function waitForOffset(log: ReplicatedLog, offset: number, waitMs: number, call: AbortSignal): Promise<void> {
  const wait = deadlineSignal(waitMs, () => new UnavailableError('max_wait_ms passed'), call);
  try {
    await log.waitFor(offset, wait.signal);
  } catch (err) {
    if (!wait.expired()) throw err;
  } finally {
    wait.dispose();
  }
}

/** Milliseconds until a grpc-js deadline (a Date or epoch ms; Infinity when none). */
export function remainingMs(deadline: Date | number): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return Infinity;
  return Math.max(0, at - Date.now());
}
