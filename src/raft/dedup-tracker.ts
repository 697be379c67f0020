/**
 * The producer-dedup state of one node's log: the committed state (ProducerTable, applied in
 * commit order) plus the producer entries stored above it and not yet applied (the "tail": on the
 * leader, these are in flight). LogStorage keeps it in step with the log: appends and
 * truncations change the tail, the commit index moves runs from the tail into the table.
 */
import { assert } from '../errors.js';
import { EntryType } from './core/types.js';
import { decodeProducerHeader } from './dedup-header.js';
import type { ProducerTable} from './dedup-state.js';
import { type ProducerRun, type SequenceLookup } from './dedup-state.js';

/** An entry as the tracker needs it. */
export interface TrackedEntry {
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** Where a sequence of a producer is held: as `SequenceLookup`, or in a stored, uncommitted entry. */
export type HeldSequence = SequenceLookup | { state: 'pending'; index: number; offset: number };

export class DedupTracker {
  /** Runs above the table's applied index, ascending by index. */
  private tail: ProducerRun[] = [];
  /** The same runs by producer (ascending). */
  private readonly tailBy = new Map<string, ProducerRun[]>();

  constructor(private tableState: ProducerTable) {}

  get table(): ProducerTable {
    return this.tableState;
  }

  /** Starts over from `table` (InstallSnapshot). */
  reset(table: ProducerTable): void {
    this.tableState = table;
    this.tail = [];
    this.tailBy.clear();
  }

  /**
   * Records stored entries (in index order, right after the ones recorded before). Entries at or
   * below the table's applied index are already in it.
   */
  appended(entries: readonly TrackedEntry[], offsetOf: (index: number) => number): void {
    for (const e of entries) {
      if (e.index <= this.tableState.applied()) continue;
      if (e.type === EntryType.ProducerData) {
        const h = decodeProducerHeader(e.data);
        this.push({ producerId: h.id, index: e.index, sequence: h.sequence, offset: offsetOf(e.index), count: 1 });
      } else if (e.type === EntryType.ProducerNext) {
        this.extend(e.index);
      }
    }
  }

  /** Records one run found by a scan of the log on open (above the applied index). */
  pushRun(run: ProducerRun): void {
    this.push(run);
  }

  /** Forgets stored entries at index >= from (truncateSuffix); they are never committed ones. */
  truncateSuffix(from: number): void {
    assert(from > this.tableState.applied(), () => `dedup: truncating at ${from}, applied ${this.tableState.applied()}`);
    for (let run = this.tail[this.tail.length - 1]; run && run.index + run.count > from; run = this.tail[this.tail.length - 1]) {
      if (run.index < from) {
        run.count = from - run.index;
        return;
      }
      this.tail.pop();
      const mine = this.tailBy.get(run.producerId);
      mine?.pop();
      if (mine?.length === 0) this.tailBy.delete(run.producerId);
    }
  }

  /** Applies everything stored up to `commit` to the table. */
  applyThrough(commit: number): void {
    if (commit <= this.tableState.applied()) return;
    for (let run = this.tail[0]; run && run.index <= commit; run = this.tail[0]) {
      const end = run.index + run.count - 1;
      if (end <= commit) {
        this.tail.shift();
        const mine = this.tailBy.get(run.producerId);
        mine?.shift();
        if (mine?.length === 0) this.tailBy.delete(run.producerId);
        this.tableState.apply(run);
        continue;
      }
      const k = commit - run.index + 1;
      this.tableState.apply({ ...run, count: k });
      run.index += k;
      run.sequence += k;
      run.offset += k;
      run.count -= k;
    }
    this.tableState.advanceTo(commit);
  }

  /** The producer's highest sequence, stored or committed; undefined when unknown. */
  lastSequence(producerId: string): number | undefined {
    let last = this.tableState.lastSequence(producerId);
    for (const r of this.tailBy.get(producerId) ?? []) last = Math.max(last ?? 0, r.sequence + r.count - 1);
    return last;
  }

  lookup(producerId: string, sequence: number): HeldSequence {
    for (const r of this.tailBy.get(producerId) ?? []) {
      if (sequence >= r.sequence && sequence < r.sequence + r.count) {
        const k = sequence - r.sequence;
        return { state: 'pending', index: r.index + k, offset: r.offset + k };
      }
    }
    return this.tableState.lookup(producerId, sequence);
  }

  /** Producer entries stored and not yet applied (for metrics and tests). */
  pendingRuns(): readonly ProducerRun[] {
    return this.tail;
  }

  private push(run: ProducerRun): void {
    this.tail.push(run);
    const mine = this.tailBy.get(run.producerId);
    if (mine) mine.push(run);
    else this.tailBy.set(run.producerId, [run]);
  }

  /** A ProducerNext entry at `index`: one more record of the run that ends right before it. */
  private extend(index: number): void {
    const prev = this.tail[this.tail.length - 1];
    if (prev && prev.index + prev.count === index) {
      prev.count++;
      return;
    }
    const atApplied = this.tableState.entryAtApplied();
    assert(atApplied !== null && atApplied.index === index - 1, () => `dedup: ProducerNext entry ${index} follows no producer entry`);
    this.push({ ...atApplied, index, sequence: atApplied.sequence + 1, offset: atApplied.offset + 1, count: 1 });
  }
}
