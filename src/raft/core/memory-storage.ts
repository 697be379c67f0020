/**
 * The in-memory twin of the Raft log storage (hashicorp's inmem_store, etcd's MemoryStorage): what
 * tests, the simulator and the benchmark use instead of the segmented log. Entries are treated as
 * immutable values: they are shared, never modified, by clones.
 */
import { CompactedError, InvalidArgumentError, assert } from '../../errors.js';
import { copyConfig, decodeConfig, normalizeConfig } from './config.js';
import { EntryType } from './types.js';
import type { ClusterConfig, Entry, HardState, RaftStorage, SnapshotMeta } from './types.js';

const EMPTY = new Uint8Array(0);

export class MemoryStorage implements RaftStorage {
  private hs: HardState;
  private snap: SnapshotMeta;
  /** ents[i] has index snap.index + 1 + i. */
  private ents: Entry[];
  /** Indexes of the config entries in `ents`, ascending. */
  private configIndexes: number[];

  private constructor(hs: HardState, snap: SnapshotMeta, ents: Entry[], configIndexes: number[]) {
    this.hs = hs;
    this.snap = snap;
    this.ents = ents;
    this.configIndexes = configIndexes;
  }

  /** A fresh cluster member: snapshot at index 0, term 0, with `config`; empty log. */
  static bootstrap(config: ClusterConfig): MemoryStorage {
    const snap: SnapshotMeta = {
      index: 0,
      term: 0,
      config: normalizeConfig(config),
      configIndex: 0,
      data: EMPTY,
    };
    return new MemoryStorage({ term: 0, vote: null, commit: 0 }, snap, [], []);
  }

  /** A joining node: no configuration at all until a leader adds it. */
  static empty(): MemoryStorage {
    return MemoryStorage.bootstrap({ voters: [], learners: [] });
  }

  initialState(): { hardState: HardState; config: ClusterConfig; configIndex: number } {
    const { config, configIndex } = this.configAt(this.lastIndex());
    return { hardState: this.hardState(), config, configIndex };
  }

  hardState(): HardState {
    return { ...this.hs };
  }

  setHardState(hs: HardState): void {
    this.hs = { ...hs };
  }

  firstIndex(): number {
    return this.snap.index + 1;
  }

  lastIndex(): number {
    return this.snap.index + this.ents.length;
  }

  term(index: number): number {
    if (index === this.snap.index) return this.snap.term;
    if (index < this.snap.index) throw new CompactedError(index, this.firstIndex());
    const e = this.ents[index - this.snap.index - 1];
    assert(e !== undefined, () => `term(${index}) beyond the last index ${this.lastIndex()}`);
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex());
    assert(hi <= this.lastIndex() + 1, () => `entries up to ${hi} beyond ${this.lastIndex()}`);
    const base = this.snap.index + 1;
    let end = lo;
    let bytes = 0;
    while (end < hi) {
      const e = this.ents[end - base] as Entry;
      bytes += e.data.length;
      if (end > lo && bytes > maxBytes) break;
      end++;
    }
    return this.ents.slice(lo - base, end - base);
  }

  configAt(index: number): { config: ClusterConfig; configIndex: number } {
    const at = Math.min(index, this.lastIndex());
    for (let i = this.configIndexes.length - 1; i >= 0; i--) {
      const ci = this.configIndexes[i] as number;
      if (ci <= at) {
        const e = this.ents[ci - this.snap.index - 1] as Entry;
        return { config: decodeConfig(e.data), configIndex: ci };
      }
    }
    return { config: copyConfig(this.snap.config), configIndex: this.snap.configIndex };
  }

  snapshot(): SnapshotMeta {
    return { ...this.snap, config: copyConfig(this.snap.config) };
  }

  /** Appends entries, first truncating any stored suffix from entries[0].index. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    let skip = 0;
    // Entries at or below the snapshot are already part of it.
    while (skip < entries.length && (entries[skip] as Entry).index <= this.snap.index) skip++;
    if (skip === entries.length) return;
    const from = (entries[skip] as Entry).index;
    assert(from <= this.lastIndex() + 1, () => `append at ${from} leaves a gap after ${this.lastIndex()}`);
    this.truncateFrom(from);
    for (let i = skip; i < entries.length; i++) {
      const e = entries[i] as Entry;
      assert(e.index === this.lastIndex() + 1, 'appended entries must be contiguous');
      this.ents.push(e);
      if (e.type === EntryType.Config) this.configIndexes.push(e.index);
    }
  }

  /** The log restarts empty after `snap.index`. */
  applySnapshot(snap: SnapshotMeta): void {
    if (snap.index < this.snap.index) {
      throw new InvalidArgumentError(`snapshot ${snap.index} is older than ${this.snap.index}`);
    }
    this.snap = { ...snap, config: normalizeConfig(snap.config) };
    this.ents = [];
    this.configIndexes = [];
  }

  /** Drops entries <= index; the snapshot becomes (index, term(index), configAt(index)). */
  compact(index: number, data?: Uint8Array): void {
    if (index <= this.snap.index) return;
    assert(index <= this.lastIndex(), () => `compact(${index}) beyond ${this.lastIndex()}`);
    const { config, configIndex } = this.configAt(index);
    const term = this.term(index);
    this.ents = this.ents.slice(index - this.snap.index);
    this.configIndexes = this.configIndexes.filter((ci) => ci > index);
    this.snap = { index, term, config, configIndex, data: data ?? this.snap.data };
  }

  /** A deep copy (entries are shared immutable values): a disk as it was at this moment. */
  clone(): MemoryStorage {
    return new MemoryStorage(
      this.hardState(),
      this.snapshot(),
      [...this.ents],
      [...this.configIndexes],
    );
  }

  private truncateFrom(index: number): void {
    if (index > this.lastIndex()) return;
    this.ents.length = index - this.snap.index - 1;
    while (this.configIndexes.length > 0 && (this.configIndexes.at(-1) as number) >= index) {
      this.configIndexes.pop();
    }
  }
}
