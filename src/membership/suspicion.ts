/**
 * The suspicion timer of one member (Lifeguard): it starts at `maxMs` and shrinks towards `minMs`
 * as independent members confirm the suspicion, following
 *   timeout = max - (max - min) * log(c + 1) / log(k + 1)
 * for c confirmations out of k expected. When it fires, the member is declared dead.
 */
import type { Clock, TimerHandle } from './types.js';

export class Suspicion {
  private readonly confirmers = new Set<string>();
  private readonly startMs: number;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    /** Who raised the suspicion first (does not count as a confirmation). */
    from: string,
    /** Confirmations that bring the timeout down to minMs. */
    private readonly expectedConfirmations: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly onTimeout: () => void,
  ) {
    this.confirmers.add(from);
    this.startMs = clock.now();
    this.schedule();
  }

  /** Records an independent confirmation; true if it was new (and so worth re-gossiping). */
  confirm(from: string): boolean {
    if (this.confirmers.size - 1 >= this.expectedConfirmations || this.confirmers.has(from)) return false;
    this.confirmers.add(from);
    this.schedule();
    return true;
  }

  /** The current total timeout, from the start of the suspicion. */
  timeoutMs(): number {
    const c = this.confirmers.size - 1;
    const k = this.expectedConfirmations;
    if (k <= 0) return this.minMs;
    const frac = Math.log(c + 1) / Math.log(k + 1);
    return Math.max(this.minMs, Math.floor(this.maxMs - frac * (this.maxMs - this.minMs)));
  }

  cancel(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.cancel();
    const remaining = Math.max(0, this.startMs + this.timeoutMs() - this.clock.now());
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      this.onTimeout();
    }, remaining);
  }
}
