/**
 * The producer-dedup state derived from committed entries (ARCHITECTURE 3a rule 1; docs/api.md,
 * "Idempotent producers"). Pure: no I/O, no clock. Every node applies the same committed entries
 * in the same order and so holds the same state.
 *
 * Bounded by log position: an entry counts only while it is one of the last `expiryEntries` Raft
 * indexes applied (a producer not seen for that many entries is forgotten), and a producer keeps
 * at most `windowRuns` runs (a run = consecutive entries with consecutive sequences). So the state
 * at index I is a function of the entries in (I - expiryEntries, I] alone: rebuilding it from any
 * earlier start gives the same state, and memory holds at most `expiryEntries` runs.
 */
import { z } from 'zod';
import { assert } from '../errors.js';

export interface DedupLimits {
  /** A producer entry is forgotten once this many Raft indexes were applied after it. */
  expiryEntries: number;
  /** Runs (requests, merged when contiguous) remembered per producer. */
  windowRuns: number;
}

export const defaultDedupLimits: DedupLimits = { expiryEntries: 1_000_000, windowRuns: 1024 };

/** Consecutive entries of one producer: index..index+count-1 hold sequence.., at user offset... */
export interface ProducerRun {
  producerId: string;
  index: number;
  sequence: number;
  offset: number;
  count: number;
}

type Run = Omit<ProducerRun, 'producerId'>;

/** Where a sequence of a producer stands. */
export type SequenceLookup =
  | { state: 'found'; offset: number; index: number }
  /** Below every remembered sequence: it was appended, but its offset is no longer known. */
  | { state: 'too-old'; earliest: number }
  /** Not held (a sequence never appended, between remembered ones). */
  | { state: 'absent' };

/** What a request (first sequence s, n records) is, given the producer's last sequence. */
export type RequestKind = 'new' | 'duplicate' | 'partial' | 'gap' | 'unknown-producer';

/**
 * `last` is the producer's highest sequence held (undefined: unknown producer). `partial`: the
 * first records repeat held ones and the rest are new (a retry after a batch was committed only
 * in part).
 */
export function classifyRequest(last: number | undefined, sequence: number, count: number): RequestKind {
  if (last === undefined) return sequence === 0 ? 'new' : 'unknown-producer';
  if (sequence > last + 1) return 'gap';
  if (sequence === last + 1) return 'new';
  return sequence + count - 1 <= last ? 'duplicate' : 'partial';
}

const nat = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const runSchema = z.tuple([nat, nat, nat, z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)]);
const entrySchema = z.object({ producerId: z.string().min(1), index: nat, sequence: nat, offset: nat, count: z.number().int().min(1).max(1) }).strict();

/** The state as stored in the start metadata and carried by InstallSnapshot. */
export const dedupSnapshotSchema = z
  .object({
    /** The Raft index this state is at (>= the start index of the log that stores it). */
    index: nat,
    /** The producer entry at `index`, when it is one (a ProducerNext entry after it continues it). */
    last: entrySchema.nullable(),
    /** Producers, least recently seen first; runs as [index, sequence, offset, count], ascending. */
    producers: z.array(z.tuple([z.string().min(1), z.array(runSchema)])),
  })
  .strict();
export type DedupSnapshot = z.infer<typeof dedupSnapshotSchema>;

export class ProducerTable {
  /** Runs per producer, the Map in order of last use (least recent first). */
  private readonly producers = new Map<string, Run[]>();
  private appliedIndex: number;
  private lastEntry: ProducerRun | null = null;

  constructor(
    readonly limits: DedupLimits,
    index = 0,
  ) {
    assert(limits.expiryEntries >= 1 && limits.windowRuns >= 1, 'dedup limits must be positive');
    this.appliedIndex = index;
  }

  static fromSnapshot(s: DedupSnapshot, limits: DedupLimits): ProducerTable {
    const t = new ProducerTable(limits, s.index);
    for (const [id, runs] of s.producers) {
      t.producers.set(id, runs.map(([index, sequence, offset, count]) => ({ index, sequence, offset, count })));
    }
    t.lastEntry = s.last;
    t.expire();
    return t;
  }

  /** The Raft index the state is at. */
  applied(): number {
    return this.appliedIndex;
  }

  /** The producer entry at applied(), if that entry is one (for a ProducerNext right after it). */
  entryAtApplied(): ProducerRun | null {
    return this.lastEntry?.index === this.appliedIndex ? this.lastEntry : null;
  }

  /** Applies a run of committed producer entries (above applied()). */
  apply(run: ProducerRun): void {
    assert(run.index > this.appliedIndex && run.count >= 1, () => `dedup: run at ${run.index} applied at ${this.appliedIndex}`);
    this.advanceTo(run.index + run.count - 1);
    let runs = this.producers.get(run.producerId);
    if (runs) this.producers.delete(run.producerId);
    else runs = [];
    this.producers.set(run.producerId, runs);
    this.trim(runs);
    const tail = runs[runs.length - 1];
    if (tail && tail.index + tail.count === run.index && tail.sequence + tail.count === run.sequence && tail.offset + tail.count === run.offset) {
      tail.count += run.count;
    } else {
      runs.push({ index: run.index, sequence: run.sequence, offset: run.offset, count: run.count });
      if (runs.length > this.limits.windowRuns) runs.shift();
    }
    const k = run.count - 1;
    this.lastEntry = { producerId: run.producerId, index: run.index + k, sequence: run.sequence + k, offset: run.offset + k, count: 1 };
  }

  /** Entries up to `index` are applied (the ones that are not producer entries need no call). */
  advanceTo(index: number): void {
    if (index <= this.appliedIndex) return;
    this.appliedIndex = index;
    this.expire();
  }

  /** The producer's highest remembered sequence; undefined when it is unknown (new or expired). */
  lastSequence(producerId: string): number | undefined {
    const runs = this.visible(producerId);
    let last: number | undefined;
    for (const r of runs) last = Math.max(last ?? 0, r.sequence + r.count - 1);
    return last;
  }

  lookup(producerId: string, sequence: number): SequenceLookup {
    const runs = this.visible(producerId);
    for (let i = runs.length - 1; i >= 0; i--) {
      const r = runs[i];
      if (r && sequence >= r.sequence && sequence < r.sequence + r.count) {
        const k = sequence - r.sequence;
        return { state: 'found', offset: r.offset + k, index: r.index + k };
      }
    }
    const earliest = runs.reduce((min, r) => Math.min(min, r.sequence), Number.MAX_SAFE_INTEGER);
    return runs.length > 0 && sequence < earliest ? { state: 'too-old', earliest } : { state: 'absent' };
  }

  /** Number of producers remembered. */
  size(): number {
    return this.producers.size;
  }

  /** The canonical form (equal for equal states), for the start metadata and InstallSnapshot. */
  snapshot(): DedupSnapshot {
    const producers: DedupSnapshot['producers'] = [];
    for (const [id, runs] of this.producers) {
      this.trim(runs);
      if (runs.length > 0) producers.push([id, runs.map((r): [number, number, number, number] => [r.index, r.sequence, r.offset, r.count])]);
    }
    return { index: this.appliedIndex, last: this.entryAtApplied(), producers };
  }

  /** Entries at or below this index are forgotten. */
  private cutoff(): number {
    return this.appliedIndex - this.limits.expiryEntries;
  }

  private visible(producerId: string): Run[] {
    const runs = this.producers.get(producerId);
    if (!runs) return [];
    this.trim(runs);
    return runs;
  }

  /** Drops the forgotten part of a producer's runs (oldest first). */
  private trim(runs: Run[]): void {
    const cutoff = this.cutoff();
    while (runs.length > 0) {
      const r = runs[0];
      if (!r || r.index > cutoff) return;
      const gone = cutoff - r.index + 1;
      if (gone >= r.count) {
        runs.shift();
        continue;
      }
      r.index += gone;
      r.sequence += gone;
      r.offset += gone;
      r.count -= gone;
      return;
    }
  }

  /** Forgets producers whose last entry is at or below the cutoff (least recently seen first). */
  private expire(): void {
    const cutoff = this.cutoff();
    for (const [id, runs] of this.producers) {
      const last = runs[runs.length - 1];
      if (last && last.index + last.count - 1 > cutoff) return;
      this.producers.delete(id);
    }
  }
}
