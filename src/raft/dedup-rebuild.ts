/**
 * Rebuilds a node's producer-dedup state on open: from the state in the start metadata, apply the
 * committed producer entries of the log and hold the uncommitted ones as in flight. Only the last
 * `expiryEntries` committed entries can matter (dedup-state.ts), so the scan starts there at the
 * earliest and reads one header per request, never the whole log.
 */
import { EntryType } from './core/types.js';
import { decodeProducerHeader } from './dedup-header.js';
import type { ProducerRun, ProducerTable } from './dedup-state.js';
import { DedupTracker } from './dedup-tracker.js';

/** What the scan reads from the log. */
export interface DedupScanSource {
  firstIndex: number;
  lastIndex: number;
  typeAt(index: number): EntryType;
  dataAt(index: number): Uint8Array;
  offsetOf(index: number): number;
}

/** The tracker for a log whose committed prefix ends at `commit`, starting from `table`. */
export function rebuildDedup(src: DedupScanSource, table: ProducerTable, commit: number): DedupTracker {
  const from = Math.max(table.applied() + 1, src.firstIndex, commit - table.limits.expiryEntries + 1);
  // Entries skipped here are older than the expiry window at `commit`: they cannot matter.
  table.advanceTo(from - 1);
  const tracker = new DedupTracker(table);
  let run: ProducerRun | undefined;
  const flush = (): void => {
    if (run) place(run, tracker, commit);
    run = undefined;
  };
  for (let i = from; i <= src.lastIndex; i++) {
    const type = src.typeAt(i);
    if (type === EntryType.ProducerNext && run && run.index + run.count === i) {
      run.count++;
      continue;
    }
    flush();
    if (type === EntryType.ProducerData) {
      const h = decodeProducerHeader(src.dataAt(i), `log entry ${i}`);
      run = { producerId: h.id, index: i, sequence: h.sequence, offset: src.offsetOf(i), count: 1 };
    } else if (type === EntryType.ProducerNext) {
      run = continuation(src, table, i);
    }
  }
  flush();
  table.advanceTo(Math.min(commit, src.lastIndex));
  return tracker;
}

/** Committed part of a run into the table, the rest into the tail. */
function place(run: ProducerRun, tracker: DedupTracker, commit: number): void {
  const committed = Math.min(run.count, Math.max(0, commit - run.index + 1));
  if (committed > 0) tracker.table.apply({ ...run, count: committed });
  if (committed < run.count) {
    tracker.pushRun({ ...run, index: run.index + committed, sequence: run.sequence + committed, offset: run.offset + committed, count: run.count - committed });
  }
}

/**
 * The run a ProducerNext entry at `index` belongs to, when the scan starts in the middle of a
 * request: the entry right before the table's state, or the request's header further back. A
 * request cut by the start of the log past the state's index (only possible at the very edge of
 * the expiry window) is left out.
 */
function continuation(src: DedupScanSource, table: ProducerTable, index: number): ProducerRun | undefined {
  const atApplied = table.entryAtApplied();
  if (atApplied && atApplied.index === index - 1) {
    return { ...atApplied, index, sequence: atApplied.sequence + 1, offset: src.offsetOf(index), count: 1 };
  }
  let j = index - 1;
  while (j >= src.firstIndex && src.typeAt(j) === EntryType.ProducerNext) j--;
  if (j < src.firstIndex || src.typeAt(j) !== EntryType.ProducerData) return undefined;
  const h = decodeProducerHeader(src.dataAt(j), `log entry ${j}`);
  return { producerId: h.id, index, sequence: h.sequence + (index - j), offset: src.offsetOf(index), count: 1 };
}
