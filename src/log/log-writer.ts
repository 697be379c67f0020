import Denque from 'denque';
import { ClosedError, LogFailedError, OffsetOutOfRangeError, UnavailableError } from '../errors.js';
import { EntryType } from '../raft/core/types.js';
import type { LogState } from './log-state.js';
import { encodeIndexEntry, INDEX_ENTRY_BYTES, OffsetIndex } from './offset-index.js';
import { encodeRecord, RECORD_HEADER_BYTES, type NewRecord } from './record.js';
import { InlineGate } from './inline-gate.js';
import { Scratch } from '../util/scratch.js';
import { INDEX_FLUSH_ENTRIES, Segment } from './segment.js';
import { unlinkSegments } from './segment-files.js';
import { SMALL_WRITE_MAX_BYTES } from './store.js';

interface AppendOp {
  kind: 'append';
  records: readonly NewRecord[];
  frameBytes: number;
  first: number;
  resolve: (first: number) => void;
  reject: (err: unknown) => void;
}

interface TaskOp {
  kind: 'task';
  run: () => Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

type Op = AppendOp | TaskOp;

/** Where the log ended before a group: what undoing the group returns to. */
interface Mark {
  segments: number;
  count: number;
  storeBytes: number;
}

/**
 * The log's single writer. Every mutation goes through one FIFO queue. Consecutive appends are
 * committed as a group: framed into one reused buffer, one store write (+ index entries) per
 * segment and per maxGroupBytes, then (sync `always`) one fdatasync, then published and resolved
 * together. While a group is being written and synced, new appends wait in the queue for the
 * next group.
 */
export class LogWriter {
  /**
   * Ops not yet taken. A taken op leaves the queue at once: its records are the caller's buffers
   * (a whole batch request each), and holding them after the write would keep every value of the
   * last groups alive.
   */
  private readonly queue = new Denque<Op>();
  private queuedBytes = 0;
  private running = false;
  private closing = false;
  /** Bytes written since the last fsync (interval / never). */
  dirty = false;
  /** Reused between groups: a fresh buffer per group costs a page fault per 4 KiB on first touch. */
  private readonly frameScratch: Scratch;
  private readonly entryScratch: Scratch;
  private readonly inlineSync: InlineGate;

  constructor(private readonly state: LogState) {
    const { maxGroupBytes } = state.config;
    this.inlineSync = new InlineGate(state.config.inlineSyncMaxMs);
    this.frameScratch = new Scratch(maxGroupBytes);
    this.entryScratch = new Scratch(Math.ceil(maxGroupBytes / RECORD_HEADER_BYTES) * INDEX_ENTRY_BYTES);
  }

  append(records: readonly NewRecord[], frameBytes: number): Promise<number> {
    if (this.closing) return Promise.reject(new ClosedError());
    if (this.state.failed) return Promise.reject(this.state.failed);
    const { maxQueuedBytes } = this.state.config;
    if (this.queuedBytes > 0 && this.queuedBytes + frameBytes > maxQueuedBytes) {
      return Promise.reject(new UnavailableError(`the log's write queue is full (${maxQueuedBytes} bytes)`));
    }
    return new Promise<number>((resolve, reject) => {
      this.queuedBytes += frameBytes;
      this.push({ kind: 'append', records, frameBytes, first: -1, resolve, reject });
    });
  }

  /** Runs `run` alone, in queue order. `closeAfter` refuses everything queued later. */
  task(run: () => Promise<void>, closeAfter = false): Promise<void> {
    if (this.closing) return Promise.reject(new ClosedError());
    if (closeAfter) this.closing = true;
    return new Promise<void>((resolve, reject) => this.push({ kind: 'task', run, resolve, reject }));
  }

  /** A mutation that leaves the durable state unknown if it fails: fail the log, then rethrow. */
  async fatal<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      throw this.fail(err);
    }
  }

  /** Enters the failed state (once) and returns the error every write now gets. */
  fail(cause: unknown): LogFailedError {
    if (cause instanceof LogFailedError) return cause;
    if (!this.state.failed) {
      this.state.failed = new LogFailedError(cause);
      this.state.logger.error({ err: cause }, 'the log stopped accepting writes after a failed write or sync');
    }
    return this.state.failed;
  }

  /** fsync of everything written (the active segment: rolled segments were synced on roll). */
  async syncAll(): Promise<void> {
    if (this.state.failed) throw this.state.failed;
    const active = this.state.active;
    // The store first: index entries reach the file only for synced records (Segment.write).
    this.observeFsync(await this.fatal(active.syncStore()), false);
    await active.flushIndex();
    await this.fatal(active.syncIndex());
    this.dirty = false;
  }

  /**
   * fdatasync of the active store after `group` was written: on the event-loop thread when the
   * group is one small record with nothing queued behind it and the disk has been fast (see
   * InlineGate), else on the thread pool. One record, not one append: a caller that batches
   * (the Raft node, one appendBatch per Ready) shows load as records per append, and under load
   * the event loop must keep reading requests while the flush runs.
   */
  private async syncStore(group: AppendOp[]): Promise<void> {
    const only = group.length === 1 ? group[0] : undefined;
    const lone = only !== undefined && only.records.length === 1 && this.queue.isEmpty() && only.frameBytes <= SMALL_WRITE_MAX_BYTES;
    if (lone && this.inlineSync.isOpen()) {
      let seconds: number;
      try {
        seconds = this.state.active.syncStoreInline();
      } catch (err) {
        throw this.fail(err);
      }
      this.observeFsync(seconds, true);
      return;
    }
    this.observeFsync(await this.fatal(this.state.active.syncStore()), false);
  }

  private observeFsync(seconds: number, inline: boolean): void {
    this.inlineSync.observe(seconds, inline);
    this.state.config.onFsync?.(seconds);
  }

  /**
   * Queues `op`. The writer starts on the next turn of the event loop (setImmediate), not now:
   * every append issued in this turn (the callers a group just resolved, a burst of requests read
   * from the network) joins the same group. Starting at once would commit the first caller alone
   * and split a steady load into alternating groups of 1 and n - 1.
   */
  private push(op: Op): void {
    this.queue.push(op);
    if (this.running) return;
    this.running = true;
    if (this.state.config.gatherTurn) void nextTurn().then(() => this.drain());
    else queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      for (let op = this.queue.peekFront(); op !== undefined; op = this.queue.peekFront()) {
        if (op.kind === 'task') {
          this.queue.shift();
          await op.run().then(op.resolve, op.reject);
        } else {
          await this.commit(this.takeGroup());
        }
        // Let the callers just resolved queue their next appends before the next group is taken.
        await nextTurn();
      }
    } finally {
      this.running = false;
    }
  }

  /** Consecutive appends at the head of the queue, up to maxGroupBytes (at least one). */
  private takeGroup(): AppendOp[] {
    const group: AppendOp[] = [];
    let bytes = 0;
    for (let op = this.queue.peekFront(); op?.kind === 'append'; op = this.queue.peekFront()) {
      if (group.length > 0 && bytes + op.frameBytes > this.state.config.maxGroupBytes) break;
      group.push(op);
      bytes += op.frameBytes;
      this.queue.shift();
    }
    this.queuedBytes -= bytes;
    return group;
  }

  private async commit(group: AppendOp[]): Promise<void> {
    const { state } = this;
    if (state.failed) return rejectAll(group, state.failed);
    const active = state.active;
    const mark: Mark = { segments: state.segments.length, count: active.count, storeBytes: active.store.sizeBytes };
    let next = active.nextOffset;
    for (const op of group) {
      op.first = next;
      next += op.records.length;
    }
    try {
      await this.write(group);
      // Only the store needs syncing for durability: the index is rebuilt from it on open.
      if (state.config.sync.mode === 'always') await this.syncStore(group);
      else this.dirty = true;
    } catch (err) {
      return rejectAll(group, state.failed ? this.fail(err) : await this.undo(mark, err));
    }
    state.publish(next);
    for (const op of group) op.resolve(op.first);
  }

  /**
   * Frames the group segment by segment, rolling when the next record would not fit, and in
   * chunks of at most maxGroupBytes, the size of the reused frame buffer (a single op may be
   * larger: a Raft follower appends all the entries of a Ready at once). Only a record larger than
   * that gets a buffer of its own.
   */
  private async write(group: AppendOp[]): Promise<void> {
    const { maxGroupBytes, sync } = this.state.config;
    // Under sync `always` every record in the index was synced with its group: write the pending
    // entries now, before this group's records exist (Segment.write). A failure (ENOSPC) rejects
    // this group like any failed write. Other sync modes write the index on sync, roll and close.
    const active = this.state.active;
    if (sync.mode === 'always' && active.indexPending() >= INDEX_FLUSH_ENTRIES) await active.flushIndex();
    let records: NewRecord[] = [];
    let frameBytes = 0;
    for (const op of group) {
      for (const rec of op.records) {
        const size = RECORD_HEADER_BYTES + rec.value.length;
        if (!this.fits(records.length, frameBytes + size)) {
          await this.writeChunk(records, frameBytes);
          await this.roll();
          records = [];
          frameBytes = 0;
        } else if (records.length > 0 && frameBytes + size > maxGroupBytes) {
          await this.writeChunk(records, frameBytes);
          records = [];
          frameBytes = 0;
        }
        records.push(rec);
        frameBytes += size;
      }
    }
    if (records.length > 0) await this.writeChunk(records, frameBytes);
  }

  private fits(pending: number, pendingFrameBytes: number): boolean {
    const seg = this.state.active;
    const count = seg.count + pending;
    if (count === 0) return true;
    const { maxStoreBytes, maxIndexBytes } = this.state.config.segment;
    return seg.store.sizeBytes + pendingFrameBytes <= maxStoreBytes && OffsetIndex.fileBytes(count + 1) <= maxIndexBytes;
  }

  private async writeChunk(records: NewRecord[], frameBytes: number): Promise<void> {
    if (records.length === 0) return;
    const seg = this.state.active;
    const frame = this.frameScratch.take(frameBytes);
    const entries = this.entryScratch.take(records.length * INDEX_ENTRY_BYTES);
    let at = 0;
    for (let i = 0; i < records.length; i++) {
      const rec = records[i] as NewRecord;
      const rel = seg.count + i;
      const term = rec.term ?? 0;
      const type = rec.type ?? EntryType.Data;
      encodeIndexEntry(entries, i, rel, type, seg.store.sizeBytes + at, term);
      at += encodeRecord(frame, at, seg.baseOffset + rel, term, type, rec.value);
    }
    await seg.write(frame, entries);
  }

  /** Syncs the full segment, then creates the next one and makes its directory entry durable. */
  private async roll(): Promise<void> {
    const { state } = this;
    const old = state.active;
    this.observeFsync(await this.fatal(old.syncStore()), false);
    // After the store's sync (Segment.write). A write: if it fails (ENOSPC) the group is undone
    // and the log lives on.
    await old.flushIndex();
    await this.fatal(old.syncIndex());
    state.segments.push(await Segment.create(state.config.fs, state.dir, old.nextOffset, state.logger));
    await this.fatal(state.config.fs.fsyncDir(state.dir));
  }

  /**
   * Returns the files to `mark` after a failed (non-sync) write and gives the error the group's
   * appends get. If that fails too, the log fails.
   */
  private async undo(mark: Mark, err: unknown): Promise<unknown> {
    const { state } = this;
    try {
      const created = state.segments.splice(mark.segments);
      const base = state.active;
      await base.undo(mark.count, mark.storeBytes);
      if (created.length > 0) {
        await unlinkSegments(state.config.fs, created);
        await Promise.all(created.map((s) => s.retire()));
        await state.config.fs.fsyncDir(state.dir);
        await base.syncStore();
        await base.syncIndex();
      }
      state.logger.warn({ err }, 'a write failed; the log was returned to its previous end');
      return err;
    } catch (undoErr) {
      state.logger.error({ err: undoErr }, 'undoing a failed write failed');
      return this.fail(err);
    }
  }

  /** Drops every record >= from, durably. */
  async truncateSuffix(from: number): Promise<void> {
    const { state } = this;
    if (state.failed) throw state.failed;
    if (from >= state.active.nextOffset) return;
    const lowest = state.lowestOffset();
    if (from < lowest) throw new OffsetOutOfRangeError(from, lowest, state.published - 1);
    state.unpublish(from);
    const keep = state.segments.findIndex((s) => s.baseOffset <= from && from < s.nextOffset);
    const doomed = state.segments.splice(keep + 1).reverse();
    if (doomed.length > 0) {
      await this.fatal(unlinkSegments(state.config.fs, doomed));
      await this.fatal(state.config.fs.fsyncDir(state.dir));
      await Promise.all(doomed.map((s) => s.retire()));
    }
    await this.fatal(state.active.truncateTo(from - state.active.baseOffset));
  }

  /** Deletes every segment but the active one whose records are all below `lowest`. */
  async truncatePrefix(lowest: number): Promise<void> {
    const { state } = this;
    if (state.failed) throw state.failed;
    let n = 0;
    while (n < state.segments.length - 1 && (state.segments[n]?.nextOffset ?? 0) - 1 < lowest) n++;
    if (n === 0) return;
    const doomed = state.segments.splice(0, n);
    state.epoch++;
    await this.fatal(unlinkSegments(state.config.fs, doomed));
    await this.fatal(state.config.fs.fsyncDir(state.dir));
    await Promise.all(doomed.map((s) => s.retire()));
  }

  /** Deletes every segment and starts again, empty, at `initialOffset`. */
  async reset(initialOffset: number): Promise<void> {
    const { state } = this;
    if (state.failed) throw state.failed;
    state.unpublish(state.lowestOffset());
    const doomed = [...state.segments].reverse();
    await this.fatal(unlinkSegments(state.config.fs, doomed));
    await this.fatal(state.config.fs.fsyncDir(state.dir));
    const fresh = await this.fatal(Segment.create(state.config.fs, state.dir, initialOffset, state.logger));
    state.segments = [fresh];
    await Promise.all(doomed.map((s) => s.retire()));
    await this.fatal(state.config.fs.fsyncDir(state.dir));
    state.publish(initialOffset);
  }

}

/** Resolves on the next turn of the event loop, after every pending microtask. */
function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

function rejectAll(group: AppendOp[], err: unknown): void {
  for (const op of group) op.reject(err);
}
