/**
 * Decides when a group's fdatasync may run on the event-loop thread instead of the libuv thread
 * pool. Handing a flush to the pool and being woken when it ends costs a cross-thread round trip
 * per group; for a lone append on a fast disk (a flush of a fifth of a millisecond) that round trip
 * is a large share of the append's latency. Flushing inline holds the event loop for the whole
 * flush, so the gate opens only while flushes are known to be short: after `window` fast flushes
 * (under `maxMs`) in a row.
 *
 * What counts as evidence: an inline flush's time is the disk's alone, so a slow one shuts the
 * gate (the streak starts again). A pooled flush's time also holds the wait for the event loop to
 * run its callback, which a busy process makes long whatever the disk did: a fast one proves the
 * disk fast, a slow one proves nothing and is not counted either way. So the event loop is held
 * longer than `maxMs` at most once per `window` fast flushes. `maxMs` 0 keeps the gate shut.
 */
export class InlineSyncGate {
  private readonly maxSeconds: number;
  /** Fast flushes since the gate was created or last shut by a slow inline flush. */
  private streak = 0;

  constructor(
    maxMs: number,
    private readonly window = 32,
  ) {
    this.maxSeconds = maxMs / 1000;
  }

  /** Records a flush: its duration in seconds, and whether it ran inline. */
  observe(seconds: number, inline: boolean): void {
    if (seconds < this.maxSeconds) this.streak++;
    else if (inline) this.streak = 0;
  }

  isOpen(): boolean {
    return this.maxSeconds > 0 && this.streak >= this.window;
  }
}
