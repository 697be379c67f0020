/**
 * The in-memory twin of SystemClock: time moves only when advance() is called, and due timers
 * run in (time, creation) order, so a seeded simulation replays exactly.
 */
import type { Clock, TimerHandle } from './types.js';

interface Timer extends TimerHandle {
  readonly at: number;
  readonly fn: () => void;
}

export class ManualClock implements Clock {
  private nowMs = 0;
  private nextId = 1;
  /** Pending timers by id, and a binary min-heap of them (cleared ones are skipped lazily). */
  private readonly timers = new Map<number, Timer>();
  private readonly heap: Timer[] = [];

  now(): number {
    return this.nowMs;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const t: Timer = { id: this.nextId++, at: this.nowMs + Math.max(0, delayMs), fn };
    this.timers.set(t.id, t);
    this.push(t);
    return t;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by ms, running every timer that falls due (including ones they set). */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      const next = this.peek();
      if (!next || next.at > end) break;
      this.pop();
      this.timers.delete(next.id);
      this.nowMs = Math.max(this.nowMs, next.at);
      next.fn();
    }
    this.nowMs = end;
  }

  private peek(): Timer | undefined {
    while (this.heap.length > 0 && !this.timers.has(this.heap[0]!.id)) this.pop();
    return this.heap[0];
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    h[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}
