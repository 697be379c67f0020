/**
 * The leader's side of idempotent produce (docs/api.md, "Idempotent producers"): a request from
 * producer P with sequences s..s+n-1 is checked against everything the leader holds for P (the
 * committed state, the entries stored but not committed, and its own proposals not yet stored)
 * and then appended, answered with its originals' offset (a duplicate), or refused (a gap, an
 * unknown producer). Checking and proposing happen in one synchronous step, so two requests of
 * one producer never both pass as "new" for the same sequence.
 *
 * Reordering: concurrent unary calls of one client share an HTTP/2 connection, and a large
 * request may finish arriving after a later small one. A request just past a gap is therefore
 * parked for up to `gapWaitMs` until the requests before it arrive (bounded by `parkedMax`), and
 * refused as a gap only when they do not. An unknown producer arriving with a sequence above 0
 * waits the same way (its first request may be the one still arriving).
 *
 * Refusals are final for the client (it renumbers the records under a new producer id), so they
 * are given only by a leader that confirmed its leadership (a ReadIndex round) after deciding: a
 * deposed leader that still believes it leads must not refuse a retry whose original a newer
 * leader holds, or both copies could commit. A confirmed leader of term T lacking the original
 * proves it can never commit: T's committed entries precede anything a later leader appends, and
 * an older-term copy above them cannot survive.
 */
import { ProducerSequenceError, UnavailableError, asError } from '../errors.js';
import type { AppendResult, ProducerRef } from '../replicated-log.js';
import type { Proposal } from './core/types.js';
import { checkProducer, producerEntries } from './dedup-header.js';
import { classifyRequest } from './dedup-state.js';
import type { DedupTracker } from './dedup-tracker.js';

export interface IdempotentAppenderDeps {
  tracker: DedupTracker;
  /** Proposes entries; resolves with the first one's Raft index once committed (RaftNode). */
  propose: (proposals: Proposal[]) => Promise<number>;
  /** User offset of a committed data entry. */
  offsetOf: (index: number) => number;
  waitForCommit: (index: number, signal?: AbortSignal) => Promise<void>;
  /** Longest wait of a retry for its original, still in flight, to commit. */
  waitMs: number;
  /** Longest wait of a request after a gap for the requests before it (default 1 s). */
  gapWaitMs?: number;
  /** Requests parked after a gap, at most (default 10,000; beyond, a gap is not waited for). */
  parkedMax?: number;
  /** Resolves once this node confirmed it still leads (a ReadIndex round); rejects otherwise. */
  confirmLeader: (signal?: AbortSignal) => Promise<void>;
}

/** How far a request got: first look, after waiting for the requests before it, after confirming leadership. */
type Stage = 'fresh' | 'parked' | 'confirmed';

/** A request waiting for the sequence before it. */
interface Parked {
  sequence: number;
  wake: () => void;
}

/** One of this leader's proposals, from propose() until it commits or fails. */
interface InFlight {
  sequence: number;
  count: number;
  firstOffset: Promise<number>;
}

type Located =
  | { state: 'found'; offset: number }
  | { state: 'inflight'; of: InFlight; skip: number }
  | { state: 'pending'; index: number }
  | { state: 'too-old'; earliest: number }
  | { state: 'absent' };

export class IdempotentAppender {
  private readonly inflight = new Map<string, InFlight[]>();
  private readonly parked = new Map<string, Parked[]>();
  private parkedCount = 0;

  constructor(private readonly deps: IdempotentAppenderDeps) {}

  /** Must run on the leader (the caller checks). */
  append(values: readonly Uint8Array[], producer: ProducerRef, signal?: AbortSignal, stage: Stage = 'fresh'): Promise<AppendResult> {
    try {
      checkProducer(producer, values.length);
    } catch (err) {
      return Promise.reject(asError(err));
    }
    const { id, sequence } = producer;
    const last = this.lastSequence(id);
    switch (classifyRequest(last, sequence, values.length)) {
      case 'unknown-producer':
      case 'gap': {
        if (stage === 'fresh' && this.parkedCount < (this.deps.parkedMax ?? 10_000)) {
          return this.park(id, sequence).then(() => this.append(values, producer, signal, 'parked'));
        }
        if (stage !== 'confirmed') {
          return this.deps.confirmLeader(signal).then(
            () => this.append(values, producer, signal, 'confirmed'),
            (err: unknown) => Promise.reject(new UnavailableError(`could not confirm leadership before refusing producer ${id}'s sequence ${sequence}; retry: ${asError(err).message}`)),
          );
        }
        const problem = last === undefined ? 'unknown-producer' : 'gap';
        return Promise.reject(new ProducerSequenceError(id, problem, sequence, (last ?? -1) + 1));
      }
      case 'new':
        return this.proposeNew(id, sequence, values).then((offset) => ({ offset, duplicate: false }));
      case 'duplicate':
        return this.repeat(id, sequence, values, signal);
      case 'partial': {
        // The first records were committed (a batch cut by a leader change); append the rest.
        const held = (last ?? 0) - sequence + 1;
        const rest = this.proposeNew(id, sequence + held, values.slice(held));
        const first = this.locate(id, sequence);
        if (first.state === 'absent' || first.state === 'too-old') return rest.then((offset) => ({ offset, duplicate: false }));
        return Promise.all([this.offsetOf(id, first, sequence, signal), rest]).then(([offset]) => ({ offset, duplicate: false }));
      }
    }
  }

  /** Producers with proposals of this leader in flight (for tests). */
  inflightProducers(): number {
    return this.inflight.size;
  }

  /** Every record repeats a held sequence: answer with the first one's offset once it is committed. */
  private repeat(id: string, sequence: number, values: readonly Uint8Array[], signal?: AbortSignal): Promise<AppendResult> {
    const where = this.locate(id, sequence);
    if (where.state === 'too-old') return Promise.reject(new ProducerSequenceError(id, 'too-old', sequence, where.earliest));
    if (where.state === 'absent') {
      // A hole left by a proposal that failed after later ones were accepted: fill it.
      return this.proposeNew(id, sequence, values).then((offset) => ({ offset, duplicate: false }));
    }
    return this.offsetOf(id, where, sequence, signal).then((offset) => ({ offset, duplicate: true }));
  }

  private lastSequence(id: string): number | undefined {
    let last = this.deps.tracker.lastSequence(id);
    for (const f of this.inflight.get(id) ?? []) last = Math.max(last ?? 0, f.sequence + f.count - 1);
    return last;
  }

  private locate(id: string, sequence: number): Located {
    for (const f of this.inflight.get(id) ?? []) {
      if (sequence >= f.sequence && sequence < f.sequence + f.count) return { state: 'inflight', of: f, skip: sequence - f.sequence };
    }
    return this.deps.tracker.lookup(id, sequence);
  }

  private async offsetOf(id: string, where: Exclude<Located, { state: 'too-old' | 'absent' }>, sequence: number, signal?: AbortSignal): Promise<number> {
    if (where.state === 'found') return where.offset;
    const deadline = AbortSignal.timeout(this.deps.waitMs);
    const wait = signal ? AbortSignal.any([signal, deadline]) : deadline;
    if (where.state === 'inflight') return (await withSignal(where.of.firstOffset, wait)) + where.skip;
    await this.deps.waitForCommit(where.index, wait).catch((err: unknown) => {
      throw signal?.aborted ? asError(err) : new UnavailableError('the original of this retry did not commit in time; its outcome is unknown');
    });
    return this.committedOffset(id, where.index, sequence);
  }

  /** After the entry at `index` committed: its offset, if it is still the original (not replaced). */
  private committedOffset(id: string, index: number, sequence: number): number {
    const held = this.deps.tracker.lookup(id, sequence);
    if (held.state === 'found' && held.index === index) return held.offset;
    throw new UnavailableError('the original of this retry was replaced by another leader; its outcome is unknown');
  }

  /** Resolves when `sequence` becomes the next one expected, or after gapWaitMs. */
  private park(id: string, sequence: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const entry: Parked = { sequence, wake: () => undefined };
      const timer = setTimeout(() => entry.wake(), this.deps.gapWaitMs ?? 1000);
      timer.unref();
      entry.wake = () => {
        clearTimeout(timer);
        const mine = this.parked.get(id);
        const at = mine?.indexOf(entry) ?? -1;
        if (mine && at >= 0) {
          mine.splice(at, 1);
          this.parkedCount--;
          if (mine.length === 0) this.parked.delete(id);
        }
        resolve();
      };
      const list = this.parked.get(id);
      if (list) list.push(entry);
      else this.parked.set(id, [entry]);
      this.parkedCount++;
    });
  }

  /** Wakes the parked request that is now next for `id`, if any. */
  private wakeNext(id: string): void {
    const next = (this.lastSequence(id) ?? -1) + 1;
    this.parked.get(id)?.find((p) => p.sequence === next)?.wake();
  }

  private proposeNew(id: string, sequence: number, values: readonly Uint8Array[]): Promise<number> {
    const firstOffset = this.deps.propose(producerEntries({ id, sequence }, values)).then((index) => this.deps.offsetOf(index));
    const entry: InFlight = { sequence, count: values.length, firstOffset };
    const list = this.inflight.get(id);
    if (list) list.push(entry);
    else this.inflight.set(id, [entry]);
    const remove = (): void => {
      const mine = this.inflight.get(id);
      if (!mine) return;
      mine.splice(mine.indexOf(entry), 1);
      if (mine.length === 0) this.inflight.delete(id);
    };
    firstOffset.then(remove, remove);
    this.wakeNext(id);
    return firstOffset;
  }
}

/** `p`, or the signal's reason (as outcome unknown) when it aborts first. */
function withSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(asError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new UnavailableError('the original of this retry did not commit in time; its outcome is unknown'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(asError(err));
      },
    );
  });
}
