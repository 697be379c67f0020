/**
 * The client's idempotent producer (docs/api.md, "Idempotent producers"): a random producer id
 * and the next sequence, assigned per request. A request keeps its (id, sequence) across retries,
 * so the leader answers a retry of an appended request with the original's offset.
 *
 * Holes: a request that ends without being appended (refused for good, or retries spent) leaves
 * its sequences unused, and every later request of the same id would be refused as a gap. The
 * sequencer then starts a new producer id for requests that still need sequences.
 */
import { randomUUID } from 'node:crypto';
import type { ProducerRef } from '../replicated-log.js';

/** The sequences of one request. */
export interface Ticket extends ProducerRef {
  count: number;
}

interface Outstanding {
  settled: Promise<void>;
  done: () => void;
  /** True once the request ended without being appended. */
  hole: boolean;
}

export class ProducerSequencer {
  private id = randomUUID();
  private next = 0;
  /** Requests of the current id not yet ended, by first sequence. */
  private outstanding = new Map<number, Outstanding>();
  /** Sequences of the current id that ended without being appended. */
  private holes = false;

  /** Sequences for a request of `count` records. */
  assign(count: number): Ticket {
    const ticket = { id: this.id, sequence: this.next, count };
    this.next += count;
    let done = (): void => undefined;
    const settled = new Promise<void>((resolve) => (done = resolve));
    this.outstanding.set(ticket.sequence, { settled, done, hole: false });
    return ticket;
  }

  /** The request ended: appended (or a duplicate of an appended one), or not. */
  settle(ticket: Ticket, appended: boolean): void {
    if (ticket.id !== this.id) return;
    const o = this.outstanding.get(ticket.sequence);
    if (!o) return;
    this.outstanding.delete(ticket.sequence);
    if (!appended) this.holes = true;
    o.done();
  }

  /** Resolves when every earlier request of the ticket's id has ended (after a gap refusal). */
  async predecessors(ticket: Ticket): Promise<void> {
    if (ticket.id !== this.id) return;
    const earlier = [...this.outstanding].filter(([seq]) => seq < ticket.sequence).map(([, o]) => o.settled);
    await Promise.all(earlier);
  }

  /** Whether the ticket's sequences can no longer be accepted (a hole before them, or an old id). */
  stale(ticket: Ticket): boolean {
    return ticket.id !== this.id || this.holes;
  }

  /**
   * New sequences for a request whose old ones cannot be used (a hole before them, or the
   * producer expired on the server): under a fresh producer id unless this one is fresh already.
   */
  renew(ticket: Ticket): Ticket {
    this.settle(ticket, false);
    if (ticket.id === this.id) this.rotate();
    return this.assign(ticket.count);
  }

  private rotate(): void {
    for (const o of this.outstanding.values()) o.done();
    this.outstanding = new Map();
    this.id = randomUUID();
    this.next = 0;
    this.holes = false;
  }
}
