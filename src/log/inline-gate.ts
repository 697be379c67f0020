/**
 * Decides when a short blocking call (a store's fdatasync, a small read) may run on the event-loop
 * thread instead of the libuv thread pool. Handing it to the pool and being woken when it ends
 * costs a cross-thread round trip; when the call itself is short (a flush of a fifth of a
 * millisecond, a pread from the page cache) that round trip is a large share of its cost: on a
 * 2-core VM, a unary Consume of one 1 KiB record took 0.15-0.3 ms longer and 0.1-0.3 ms more CPU
 * with its pread on the pool, and a 3-node cluster's flushes at 1 in flight took 0.84-0.95 ms at
 * the median on the pool against 0.58-0.64 ms inline.
 * Running inline holds the event loop for the whole call, so the gate opens only while such calls
 * are known to be short: after `window` fast ones (under `maxMs`) in a row.
 *
 * What counts as evidence: an inline call's time is the disk's alone, so slow ones shut the gate
 * (the streak starts again). One slow inline call per `window` counted calls is forgiven: a disk
 * shared with other writers has outliers (on the VM above, about 2% of inline flushes took over
 * 2 ms, judging by how often the gate shut, while their median was 0.6 ms), and shutting on
 * each of them sent about 40% of the flushes to the pool. A second one within `window` counted
 * calls shuts it; so does a failed call (`shut`). A pooled call's time also holds the wait for
 * the event loop to run its callback, which a busy process makes long whatever the disk did: a
 * fast one proves the disk fast, a slow one proves nothing and is not counted at all (not even as
 * distance between two slow inline calls). So the event loop is held longer than `maxMs` at most
 * twice per `window` fast calls. `maxMs` 0 keeps the gate shut.
 */
export class InlineGate {
  private readonly maxSeconds: number;
  /** Fast calls since the gate was created or last shut. */
  private streak = 0;
  /** Fast calls and slow inline calls observed: the clock of `forgivenAt`. */
  private calls = 0;
  /** `calls` when the last slow inline call was forgiven. */
  private forgivenAt = Number.NEGATIVE_INFINITY;

  constructor(
    maxMs: number,
    private readonly window = 32,
  ) {
    this.maxSeconds = maxMs / 1000;
  }

  /** Records a call that succeeded: its duration in seconds, and whether it ran inline. */
  observe(seconds: number, inline: boolean): void {
    if (seconds < this.maxSeconds) {
      this.calls++;
      this.streak++;
      return;
    }
    if (!inline) return;
    this.calls++;
    if (this.calls - this.forgivenAt > this.window) {
      this.forgivenAt = this.calls;
      return;
    }
    this.shut();
  }

  /** Shuts the gate until `window` fast calls follow (a slow call not forgiven, a failed call). */
  shut(): void {
    this.streak = 0;
  }

  isOpen(): boolean {
    return this.maxSeconds > 0 && this.streak >= this.window;
  }
}
