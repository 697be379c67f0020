/**
 * A node-wide cap on the bytes that ConsumeStreams hold for their clients: records read from the
 * log whose messages the HTTP/2 layer has not yet taken (grpc-js calls a write's callback once the
 * data was handed on within the peer's flow-control window). A stream reserves a batch's worth
 * before it reads and gives it back when the write completes, so a thousand clients that never
 * read cost at most `capacityBytes`, not a thousand batches.
 *
 * Grants are FIFO. A request larger than the whole budget is granted when nothing else is held
 * (it could never fit otherwise). Waiting is bounded by `maxWaiters` and by the caller's signal.
 */
import { UnavailableError } from '../errors.js';

interface Waiter {
  bytes: number;
  grant: () => void;
}

export class StreamBudget {
  private used = 0;
  private readonly waiters: Waiter[] = [];
  /** Streams reset since start because their client took nothing for the stall limit (metrics). */
  private resets = 0;

  constructor(
    readonly capacityBytes: number,
    private readonly maxWaiters = 100_000,
  ) {}

  /** Bytes reserved now. */
  usedBytes(): number {
    return this.used;
  }

  /** Reservations waiting for bytes to be released. */
  waiting(): number {
    return this.waiters.length;
  }

  /** Streams reset for stalling since start. */
  streamsReset(): number {
    return this.resets;
  }

  /** A stream that held part of this budget was reset because its client stalled. */
  countReset(): void {
    this.resets++;
  }

  /** Reserves `bytes`; waits (FIFO) while the budget is spent. Rejects with the signal's reason. */
  acquire(bytes: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.used += bytes;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.maxWaiters) {
      return Promise.reject(new UnavailableError(`too many streams waiting for send buffer (limit ${this.maxWaiters})`));
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal));
        this.grantWaiting();
      };
      const waiter: Waiter = {
        bytes,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Reserves `bytes` at once, even beyond the capacity (bytes already read must be counted). */
  forceAcquire(bytes: number): void {
    this.used += bytes;
  }

  /** Gives back `bytes` reserved before. */
  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.grantWaiting();
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.capacityBytes;
  }

  private grantWaiting(): void {
    for (let w = this.waiters[0]; w !== undefined && this.fits(w.bytes); w = this.waiters[0]) {
      this.waiters.shift();
      this.used += w.bytes;
      w.grant();
    }
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}
