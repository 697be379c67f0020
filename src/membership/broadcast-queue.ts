/**
 * Updates waiting to be piggybacked, in the manner of memberlist's TransmitLimitedQueue: one
 * entry per member (a newer update about a member replaces the older one), the least-sent first,
 * each sent at most `retransmitMult * ceil(log10(n + 1))` times. Bounded: past `maxEntries` the
 * most-sent entry is dropped.
 */
import { encodeFrame } from './codec.js';
import type { UpdateMessage } from './messages.js';

interface Entry {
  readonly key: string;
  readonly frame: Buffer;
  transmits: number;
  /** Insertion order: among equally sent entries, newer first. */
  readonly id: number;
}

export class BroadcastQueue {
  private readonly entries = new Map<string, Entry>();
  private nextId = 0;

  constructor(
    private readonly retransmitMult: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Queues an update about `msg.name`, replacing any pending one about the same member. */
  enqueue(msg: UpdateMessage): void {
    this.entries.delete(msg.name);
    this.entries.set(msg.name, { key: msg.name, frame: encodeFrame(msg), transmits: 0, id: this.nextId++ });
    if (this.entries.size > this.maxEntries) this.dropMostSent();
  }

  /** True while an update about `name` is still being retransmitted. */
  pending(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * Frames to piggyback within `budgetBytes` (and at most `maxFrames`), counting one transmit
   * for each; entries that reach the limit for a cluster of `clusterSize` leave the queue.
   */
  take(budgetBytes: number, maxFrames: number, clusterSize: number): Buffer[] {
    if (this.entries.size === 0 || maxFrames <= 0) return [];
    const limit = this.retransmitLimit(clusterSize);
    const ordered = [...this.entries.values()].sort((a, b) => a.transmits - b.transmits || b.id - a.id);
    const out: Buffer[] = [];
    let left = budgetBytes;
    for (const e of ordered) {
      if (out.length >= maxFrames) break;
      if (e.frame.length > left) continue;
      out.push(e.frame);
      left -= e.frame.length;
      e.transmits++;
      if (e.transmits >= limit) this.entries.delete(e.key);
    }
    return out;
  }

  retransmitLimit(clusterSize: number): number {
    return this.retransmitMult * Math.max(1, Math.ceil(Math.log10(clusterSize + 1)));
  }

  clear(): void {
    this.entries.clear();
  }

  private dropMostSent(): void {
    let worst: Entry | undefined;
    for (const e of this.entries.values()) {
      if (!worst || e.transmits > worst.transmits || (e.transmits === worst.transmits && e.id < worst.id)) worst = e;
    }
    if (worst) this.entries.delete(worst.key);
  }
}

