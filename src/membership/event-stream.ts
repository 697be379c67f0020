/**
 * Fan-out of membership events: synchronous listeners (`on`) and async iterators (`events()`),
 * each iterator with its own bounded queue that drops the oldest event when full and counts it.
 * A consumer that fell behind re-reads `members()`: nothing is lost for good.
 */
import type { MembershipEvent } from './types.js';

type Listener = (event: MembershipEvent) => void;

class Subscriber {
  readonly queue: MembershipEvent[] = [];
  wake: (() => void) | null = null;
  done = false;
}

export class EventStream {
  private readonly listeners = new Set<Listener>();
  private readonly subscribers = new Set<Subscriber>();
  private closed = false;
  dropped = 0;

  constructor(private readonly maxQueuedEvents: number) {}

  /** Calls `listener` for every event, synchronously; returns the unsubscribe function. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: MembershipEvent): void {
    if (this.closed) return;
    for (const l of this.listeners) l(event);
    for (const s of this.subscribers) {
      s.queue.push(event);
      if (s.queue.length > this.maxQueuedEvents) {
        s.queue.shift();
        this.dropped++;
      }
      this.wakeUp(s);
    }
  }

  /** Events from now until close() (or until the consumer breaks out of its loop). */
  async *events(): AsyncGenerator<MembershipEvent, void, undefined> {
    const s = new Subscriber();
    s.done = this.closed;
    this.subscribers.add(s);
    try {
      for (;;) {
        const next = s.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (s.done) return;
        await new Promise<void>((resolve) => (s.wake = resolve));
      }
    } finally {
      this.subscribers.delete(s);
    }
  }

  /** Ends every iterator (after it drains its queue) and drops the listeners. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    for (const s of this.subscribers) {
      s.done = true;
      this.wakeUp(s);
    }
  }

  private wakeUp(s: Subscriber): void {
    const wake = s.wake;
    s.wake = null;
    wake?.();
  }
}
