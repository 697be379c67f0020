/**
 * ReadIndex on the leader (ARCHITECTURE 3a rule 10; etcd's readOnly, safe mode). A request
 * records the commit index at the time it was made and a heartbeat round number; it is
 * confirmed once a quorum of voters has answered a heartbeat of that round or a later one, which
 * proves nobody else led at any time after the request. Requests made before the leader's noop of
 * the current term commits wait (bounded) until it does: only then is the commit index current.
 */
import { RaftRefusedError } from '../../errors.js';
import type { ReadState } from './types.js';

interface PendingRead {
  context: number;
  index: number;
  round: number;
}

export class ReadOnly {
  /** Requests waiting for the current-term noop to commit. */
  private waiting: number[] = [];
  /** Requests waiting for their heartbeat round to be confirmed, in round order. */
  private pending: PendingRead[] = [];
  private round = 0;

  constructor(private readonly maxPendingReads: number) {}

  /** Queues a request until the noop commits; refuses when the queue is full. */
  wait(context: number): void {
    this.checkRoom();
    this.waiting.push(context);
  }

  /** Drains the requests that waited for the noop. */
  takeWaiting(): number[] {
    const out = this.waiting;
    this.waiting = [];
    return out;
  }

  /** Registers a request at `index`; returns the heartbeat round that must confirm it. */
  add(context: number, index: number): number {
    this.checkRoom();
    this.round++;
    this.pending.push({ context, index, round: this.round });
    return this.round;
  }

  /** Releases every request whose round is <= `confirmedRound`. */
  confirm(confirmedRound: number, out: ReadState[]): void {
    let n = 0;
    for (const r of this.pending) {
      if (r.round > confirmedRound) break;
      out.push({ context: r.context, index: r.index });
      n++;
    }
    if (n > 0) this.pending = this.pending.slice(n);
  }

  /** The latest round sent (heartbeats carry it so answers confirm every earlier request). */
  currentRound(): number {
    return this.pending.length > 0 ? this.round : 0;
  }

  /** Drops everything (on step-down: the driver's deadlines fail those reads). */
  reset(): void {
    this.waiting = [];
    this.pending = [];
  }

  private checkRoom(): void {
    if (this.waiting.length + this.pending.length >= this.maxPendingReads) {
      throw new RaftRefusedError('reads-queue-full', `more than ${this.maxPendingReads} reads pending`);
    }
  }
}
