/**
 * The Raft log as the core sees it: the durable part in RaftStorage plus the unstable part held
 * here (a snapshot and/or entries not yet reported persisted through advance()). Entries handed
 * to the driver in a Ready are "in progress" until advance() makes them stable, so each appears in
 * exactly one Ready.
 */
import { CompactedError, assert } from '../../errors.js';
import { decodeConfig } from './config.js';
import { EntryType } from './types.js';
import type { ClusterConfig, Entry, RaftStorage, SnapshotMeta } from './types.js';

export class LogView {
  committed: number;
  /** Not yet persisted: unstable[i] has index offset + i. */
  private unstable: Entry[] = [];
  private offset: number;
  private unstableSnap: SnapshotMeta | null = null;
  /** Entries up to this index were handed out in a Ready (persistence in progress). */
  private inProgress: number;
  private snapInProgress = false;

  constructor(private readonly storage: RaftStorage) {
    this.offset = storage.lastIndex() + 1;
    this.inProgress = this.offset - 1;
    const { hardState } = storage.initialState();
    this.committed = Math.max(hardState.commit, storage.firstIndex() - 1);
    assert(this.committed <= storage.lastIndex(), 'persisted commit beyond the end of the log');
  }

  firstIndex(): number {
    return this.unstableSnap ? this.unstableSnap.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.offset + this.unstable.length - 1;
    if (this.unstableSnap) return this.unstableSnap.index;
    return this.storage.lastIndex();
  }

  /** The last index known durable (and matching this log). */
  persistedIndex(): number {
    if (this.unstableSnap) return 0;
    return Math.min(this.offset - 1, this.storage.lastIndex());
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** Term at `index`; 0 above the last index; CompactedError below the snapshot. */
  term(index: number): number {
    if (index >= this.offset) {
      const e = this.unstable[index - this.offset];
      if (e !== undefined) return e.term;
      if (this.unstableSnap && index === this.unstableSnap.index) return this.unstableSnap.term;
      return 0;
    }
    if (this.unstableSnap) {
      if (index === this.unstableSnap.index) return this.unstableSnap.term;
      throw new CompactedError(index, this.unstableSnap.index + 1);
    }
    if (index > this.storage.lastIndex()) return 0;
    return this.storage.term(index);
  }

  matchTerm(index: number, term: number): boolean {
    if (index > this.lastIndex() || index < this.firstIndex() - 1) return false;
    return this.term(index) === term;
  }

  /** Entries in [lo, hi) up to maxBytes (at least one); CompactedError if lo is compacted. */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex());
    let out: Entry[] = [];
    let bytes = 0;
    if (lo < this.offset) {
      out = this.storage.entries(lo, Math.min(hi, this.offset), maxBytes);
      for (const e of out) bytes += e.data.length;
      if (lo + out.length < Math.min(hi, this.offset) || hi <= this.offset) return out;
    }
    const from = Math.max(lo, this.offset) - this.offset;
    const to = hi - this.offset;
    let end = from;
    while (end < to) {
      const e = this.unstable[end] as Entry;
      bytes += e.data.length;
      if ((out.length > 0 || end > from) && bytes > maxBytes) break;
      end++;
    }
    const tail = this.unstable.slice(from, end);
    return out.length === 0 ? tail : out.concat(tail);
  }

  /** Whether a candidate's log (lastIndex, lastTerm) is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Leader append: entries follow the last index. */
  append(entries: Entry[]): void {
    for (const e of entries) this.unstable.push(e);
  }

  /**
   * Follower append after a matching (prevIndex, prevTerm): skips entries already present,
   * truncates at the first conflict. Returns whether a suffix was truncated.
   */
  appendAfter(prevIndex: number, entries: readonly Entry[]): boolean {
    const conflictAt = this.findConflict(entries);
    if (conflictAt === -1) return false;
    const truncating = conflictAt <= this.lastIndex();
    assert(conflictAt > this.committed, () => `conflict at ${conflictAt} <= commit ${this.committed}`);
    const start = conflictAt - prevIndex - 1;
    this.truncateAndAppend(conflictAt, entries, start);
    return truncating;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), () => `commit ${index} beyond last ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Resets the log to start after the snapshot (InstallSnapshot with a conflicting log). */
  restore(snap: SnapshotMeta): void {
    this.unstableSnap = snap;
    this.snapInProgress = false;
    this.unstable = [];
    this.offset = snap.index + 1;
    this.inProgress = snap.index;
    this.committed = snap.index;
  }

  /** The snapshot the log starts with. */
  snapshot(): SnapshotMeta {
    return this.unstableSnap ?? this.storage.snapshot();
  }

  /** The latest configuration in the log (after a truncation or snapshot removed config entries). */
  latestConfig(): { config: ClusterConfig; configIndex: number } {
    for (let i = this.unstable.length - 1; i >= 0; i--) {
      const e = this.unstable[i] as Entry;
      if (e.type === EntryType.Config) return { config: decodeConfig(e.data), configIndex: e.index };
    }
    if (this.unstableSnap) {
      return { config: this.unstableSnap.config, configIndex: this.unstableSnap.configIndex };
    }
    return this.storage.configAt(Math.min(this.offset - 1, this.storage.lastIndex()));
  }

  hasNextReady(): boolean {
    return (this.unstableSnap !== null && !this.snapInProgress) || this.lastIndex() > this.inProgress;
  }

  /** Hands out the unstable snapshot and entries not handed out yet. */
  takeReady(): { snapshot: SnapshotMeta | null; entries: Entry[] } {
    const snapshot = this.unstableSnap && !this.snapInProgress ? this.unstableSnap : null;
    this.snapInProgress = this.unstableSnap !== null;
    const from = this.inProgress + 1 - this.offset;
    const entries = from < this.unstable.length ? this.unstable.slice(Math.max(0, from)) : [];
    this.inProgress = this.lastIndex();
    return { snapshot, entries };
  }

  /** advance(): the snapshot at `index` is durable. */
  stableSnapTo(index: number): void {
    if (this.unstableSnap && this.unstableSnap.index === index) {
      this.unstableSnap = null;
      this.snapInProgress = false;
    }
  }

  /** advance(): entries up to (index, term) are durable, unless they were replaced meanwhile. */
  stableTo(index: number, term: number): void {
    if (index < this.offset || this.unstableSnap) return;
    const e = this.unstable[index - this.offset];
    if (e === undefined || e.term !== term) return;
    this.unstable = this.unstable.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  /** First index in (lo .. prevIndex] where the log's term is `term`, scanning back; for hints. */
  firstIndexOfTermAt(index: number): number {
    const term = this.term(index);
    const floor = Math.max(this.committed + 1, this.firstIndex());
    let i = index;
    while (i > floor && this.term(i - 1) === term) i--;
    return i;
  }

  /** The largest index <= index whose term is <= term (leader side of the back-off hint). */
  lastIndexWithTermAtMost(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    const floor = this.firstIndex() - 1;
    while (i > floor && this.term(i) > term) i--;
    return i;
  }

  private findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return -1;
  }

  private truncateAndAppend(from: number, entries: readonly Entry[], start: number): void {
    const lastUnstable = this.offset + this.unstable.length;
    if (from === lastUnstable) {
      // The common case: a contiguous extension.
    } else if (from <= this.offset) {
      this.offset = from;
      this.unstable = [];
    } else {
      this.unstable.length = from - this.offset;
    }
    this.inProgress = Math.min(this.inProgress, from - 1);
    for (let i = start; i < entries.length; i++) this.unstable.push(entries[i] as Entry);
  }
}
