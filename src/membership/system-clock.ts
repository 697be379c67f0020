/**
 * The real Clock: monotonic milliseconds and unref()'d timers (gossip never keeps a process alive).
 */
import type { Clock, TimerHandle } from './types.js';

interface RealTimer extends TimerHandle {
  readonly timeout: NodeJS.Timeout;
}

export class SystemClock implements Clock {
  private nextId = 1;

  now(): number {
    return performance.now();
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const timeout = setTimeout(fn, Math.max(0, delayMs));
    timeout.unref();
    const handle: RealTimer = { id: this.nextId++, timeout };
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    if ('timeout' in handle) clearTimeout((handle as RealTimer).timeout);
  }
}
