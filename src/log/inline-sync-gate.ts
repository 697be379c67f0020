/**
 * Decides when a group's fdatasync may run on the event-loop thread instead of the libuv thread
 * pool. Handing a flush to the pool and being woken when it ends costs a cross-thread round trip
 * per group; for a lone append on a fast disk (a flush of a fifth of a millisecond) that round trip
 * is a large share of the append's latency. Flushing inline holds the event loop for the whole
 * flush, so the gate opens only while flushes are known to be short: the slowest of the last
 * `window` flushes (inline or not) took less than `maxMs`. One slow flush closes it until it has
 * aged out of the window; `maxMs` 0 keeps it shut.
 */
export class InlineSyncGate {
  private readonly recent: Float64Array;
  private readonly maxSeconds: number;
  private next = 0;
  private seen = 0;
  /** Flushes in the window that took `maxSeconds` or more. */
  private slow = 0;

  constructor(maxMs: number, window = 32) {
    this.maxSeconds = maxMs / 1000;
    this.recent = new Float64Array(window);
  }

  /** Records the duration of a flush, in seconds. */
  observe(seconds: number): void {
    if (this.seen >= this.recent.length && (this.recent[this.next] ?? 0) >= this.maxSeconds) this.slow--;
    if (seconds >= this.maxSeconds) this.slow++;
    this.recent[this.next] = seconds;
    this.next = (this.next + 1) % this.recent.length;
    this.seen++;
  }

  /** Whether a full window of flushes has been seen and every one of them was fast. */
  isOpen(): boolean {
    return this.maxSeconds > 0 && this.seen >= this.recent.length && this.slow === 0;
  }
}
