/**
 * Consumers waiting for the tail of a log to reach an offset. Shared by the ReplicatedLog
 * implementations: `advance(highest)` wakes every waiter whose offset is now readable.
 */

interface Waiter {
  offset: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class TailWaiters {
  private waiters: Waiter[] = [];
  private closedWith: Error | undefined;

  /** Resolves once `advance` reports `offset` readable; rejects on abort or close. */
  waitFor(offset: number, highest: number, signal?: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (offset <= highest) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        offset,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** The log's highest readable offset is now `highest`. */
  advance(highest: number): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.offset <= highest);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.offset > highest);
    for (const w of ready) w.resolve();
  }

  /** Rejects every waiter (and every later wait) with `err`. */
  close(err: Error): void {
    this.closedWith = err;
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.reject(err);
  }

  get size(): number {
    return this.waiters.length;
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('aborted', 'AbortError');
}
