import { UnavailableError } from '../errors.js';

interface Waiter {
  offset: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  cleanup: () => void;
}

/**
 * Promises waiting for an offset to become readable (tailing consumers, commit waits). Woken by `notify`, never
 * by polling. Bounded: beyond `maxWaiters` a new wait is refused with UnavailableError.
 */
export class OffsetWaiters {
  private waiters: Waiter[] = [];

  constructor(private readonly maxWaiters: number) {}

  get size(): number {
    return this.waiters.length;
  }

  /** Resolves once `notify(highest)` is called with highest >= offset; rejects when `signal` aborts. */
  wait(offset: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.waiters.length >= this.maxWaiters) {
      return Promise.reject(new UnavailableError(`too many waiters on the log (limit ${this.maxWaiters})`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { offset, resolve, reject, cleanup: () => undefined };
      if (signal) {
        const onAbort = (): void => {
          this.remove(waiter);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiters.push(waiter);
    });
  }

  /** Wakes every waiter for an offset at or below `highest`. */
  notify(highest: number): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.offset <= highest) {
        w.cleanup();
        w.resolve();
      } else {
        still.push(w);
      }
    }
    this.waiters = still;
  }

  /** Rejects every waiter (on close). */
  rejectAll(err: unknown): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) {
      w.cleanup();
      w.reject(err);
    }
  }

  private remove(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('the wait was aborted', 'AbortError');
}
