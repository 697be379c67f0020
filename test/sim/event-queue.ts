/**
 * A bounded priority queue of timed simulator events, ordered by (time, insertion order) so that
 * runs are deterministic: two events due at the same instant run in the order they were queued.
 */
export interface Timed {
  /** Simulated time in milliseconds at which the event is due. */
  atMs: number;
}

interface Slot<T> {
  atMs: number;
  seq: number;
  event: T;
}

export class QueueFullError extends Error {
  constructor(readonly maxEvents: number) {
    super(`event queue is full (${maxEvents} events)`);
    this.name = 'QueueFullError';
  }
}

export class EventQueue<T extends Timed> {
  private readonly heap: Slot<T>[] = [];
  private seq = 0;

  constructor(private readonly maxEvents: number) {}

  get size(): number {
    return this.heap.length;
  }

  /** Due time of the earliest event, or Infinity when the queue is empty. */
  peekTimeMs(): number {
    return this.heap[0]?.atMs ?? Infinity;
  }

  /** Queues an event; false (and nothing queued) when the queue is at its bound. */
  tryPush(event: T): boolean {
    if (this.heap.length >= this.maxEvents) return false;
    this.heap.push({ atMs: event.atMs, seq: this.seq++, event });
    this.siftUp(this.heap.length - 1);
    return true;
  }

  push(event: T): void {
    if (!this.tryPush(event)) throw new QueueFullError(this.maxEvents);
  }

  /** The earliest event if it is due at or before `nowMs`, removed from the queue. */
  popDue(nowMs: number): T | null {
    const top = this.heap[0];
    if (top === undefined || top.atMs > nowMs) return null;
    const last = this.heap.pop();
    if (last !== undefined && this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top.event;
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i]!;
    this.heap[i] = this.heap[j]!;
    this.heap[j] = t;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
