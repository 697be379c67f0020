/**
 * Decides when a short blocking call (a store's fdatasync, a small read) may run on the event-loop
 * thread instead of the libuv thread pool. Handing it to the pool and being woken when it ends
 * costs a cross-thread round trip; when the call itself is short (a flush of a fifth of a
 * millisecond, a pread from the page cache) that round trip is a large share of its cost: on a
 * 2-core VM, a unary Consume of one 1 KiB record took 0.15-0.3 ms longer and 0.1-0.3 ms more CPU
 * with its pread on the pool.
 * Running inline holds the event loop for the whole call, so the gate opens only while such calls
 * are known to be short: after `window` fast ones (under `maxMs`) in a row.
 *
 * What counts as evidence: an inline call's time is the disk's alone, so a slow one shuts the gate
 * (the streak starts again). A pooled call's time also holds the wait for the event loop to run
 * its callback, which a busy process makes long whatever the disk did: a fast one proves the disk
 * fast, a slow one proves nothing and is not counted either way. So the event loop is held longer
 * than `maxMs` at most once per `window` fast calls. `maxMs` 0 keeps the gate shut.
 */
export class InlineGate {
  private readonly maxSeconds: number;
  /** Fast calls since the gate was created or last shut by a slow inline call. */
  private streak = 0;

  constructor(
    maxMs: number,
    private readonly window = 32,
  ) {
    this.maxSeconds = maxMs / 1000;
  }

  /** Records a call: its duration in seconds, and whether it ran inline. */
  observe(seconds: number, inline: boolean): void {
    if (seconds < this.maxSeconds) this.streak++;
    else if (inline) this.streak = 0;
  }

  isOpen(): boolean {
    return this.maxSeconds > 0 && this.streak >= this.window;
  }
}
