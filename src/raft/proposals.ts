import { UnavailableError } from '../errors.js';
import type { Proposal } from './core/types.js';

/** Proposals asked for but not yet handed to the core (they go in as one batch). */
interface Queued {
  proposals: Proposal[];
  bytes: number;
  resolve: (firstIndex: number) => void;
  reject: (err: Error) => void;
}

/** Proposals in the log at (index, term), waiting for their entries to commit. */
interface Pending {
  /** Index of the first entry and the term it was proposed in (rule 6). */
  index: number;
  term: number;
  count: number;
  bytes: number;
  resolve: (firstIndex: number) => void;
  reject: (err: Error) => void;
}

/**
 * The node driver's proposals, from "asked" to "answered": queued (not yet in the core), then
 * pending (proposed at an index and term, in log order) until the commit index covers them. Data
 * bytes queued or pending are held against a limit, so a leader that cannot commit refuses new
 * work instead of growing without bound.
 */
export class Proposals {
  private queued: Queued[] = [];
  private pending: Pending[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get hasQueued(): boolean {
    return this.queued.length > 0;
  }

  /** Queues data proposals; resolves with the first entry's index once committed in its term. */
  enqueue(proposals: Proposal[]): Promise<number> {
    let bytes = 0;
    for (const p of proposals) bytes += p.data.length;
    if (this.bytes + bytes > this.maxBytes) {
      return Promise.reject(new UnavailableError(`too much data waiting to commit (limit ${this.maxBytes} bytes); retry`));
    }
    this.bytes += bytes;
    return new Promise<number>((resolve, reject) => this.queued.push({ proposals, bytes, resolve, reject }));
  }

  /**
   * Hands every queued proposal to `propose` in one call, so they share entries, writes and
   * messages; each then waits for its own entries. If `propose` throws, they all get its error.
   */
  flush(propose: (all: Proposal[]) => { index: number; term: number }): void {
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    const all: Proposal[] = [];
    for (const q of batch) for (const p of q.proposals) all.push(p);
    let first: { index: number; term: number };
    try {
      first = propose(all);
    } catch (err) {
      for (const q of batch) {
        this.bytes -= q.bytes;
        q.reject(err instanceof Error ? err : new UnavailableError(String(err)));
      }
      return;
    }
    let index = first.index;
    for (const q of batch) {
      this.pending.push({ index, term: first.term, count: q.proposals.length, bytes: q.bytes, resolve: q.resolve, reject: q.reject });
      index += q.proposals.length;
    }
  }

  /** Waits for one entry already proposed to the core (a configuration change) to commit. */
  awaitEntry(index: number, term: number): Promise<number> {
    return new Promise<number>((resolve, reject) => this.pending.push({ index, term, count: 1, bytes: 0, resolve, reject }));
  }

  /**
   * Answers the pending proposals whose entries are all at or below `commit`: acknowledged only if
   * the committed entry is the one proposed (`termAt` its index is the proposal's term; rule 6),
   * else the outcome is unknown.
   */
  settle(commit: number, termAt: (index: number) => number): void {
    while (this.pending.length > 0) {
      const p = this.pending[0];
      if (p === undefined || p.index + p.count - 1 > commit) break;
      this.pending.shift();
      this.bytes -= p.bytes;
      if (termAt(p.index) === p.term) p.resolve(p.index);
      else p.reject(new UnavailableError('the proposal was replaced by another leader; its outcome is unknown'));
    }
  }

  /**
   * Rejects every proposal: queued ones with `err`, pending ones with `pendingErr(firstIndex)`
   * (default `err`).
   */
  failAll(err: Error, pendingErr: (index: number) => Error = () => err): void {
    const pending = this.pending;
    const queued = this.queued;
    this.pending = [];
    this.queued = [];
    this.bytes = 0;
    for (const p of pending) p.reject(pendingErr(p.index));
    for (const q of queued) q.reject(err);
  }
}
