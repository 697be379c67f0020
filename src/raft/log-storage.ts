/**
 * The segmented log as the Raft log store and state machine (ARCHITECTURE 3): Raft index = offset
 * in the segmented log, each entry stored once. Terms and entry types come from the log's
 * in-memory index, so the synchronous RaftStorage calls cost no I/O except entries(), which reads
 * from the page cache. Alongside the log live two small atomically replaced files: the hard state
 * (term, vote, commit) and the start metadata (where the log starts, rule 1).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { assert, CompactedError, CorruptionError } from '../errors.js';
import { Log, type FileSystem, type LogOptions } from '../log/index.js';
import type { Logger } from '../logger.js';
import { decodeConfig, encodeConfig, normalizeConfig } from './core/config.js';
import { EntryType, isUserEntry, type ClusterConfig, type Entry, type HardState, type RaftStorage, type SnapshotMeta } from './core/types.js';
import { rebuildDedup } from './dedup-rebuild.js';
import { ProducerTable, defaultDedupLimits, type DedupLimits, type DedupSnapshot } from './dedup-state.js';
import type { DedupTracker } from './dedup-tracker.js';
import { JsonFile } from './json-file.js';
import { OffsetTranslator } from './offset-translator.js';
import { decodeSnapshotData, encodeSnapshotData, startMetaSchema, type StartMeta } from './start-meta.js';

const nat = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const hardStateSchema: z.ZodType<HardState> = z.object({ term: nat, vote: z.string().nullable(), commit: nat }).strict();

export interface LogStorageOptions {
  /** The node's data directory; the log lives in `<dir>/log`, the Raft files in `<dir>/raft`. */
  dir: string;
  fs: FileSystem;
  logOptions?: Omit<LogOptions, 'fs' | 'logger'>;
  logger: Logger;
  /** Producer-dedup limits; must be the same on every node (the state is derived identically). */
  dedup?: Partial<DedupLimits>;
}

export class LogStorage implements RaftStorage {
  private constructor(
    readonly log: Log,
    private readonly hardStateFile: JsonFile<HardState>,
    private readonly startFile: JsonFile<StartMeta>,
    private start: StartMeta | undefined,
    private hs: HardState,
    readonly translator: OffsetTranslator,
    /** Indexes of config entries above the start, ascending. */
    private configIndexes: number[],
    private readonly logger: Logger,
    /** Producer-dedup state: committed (applied in commit order) and stored above it (in flight). */
    readonly dedup: DedupTracker,
  ) {}

  static async open(opts: LogStorageOptions): Promise<LogStorage> {
    const logger = opts.logger.child({ component: 'raft-storage' });
    const raftDir = join(opts.dir, 'raft');
    await opts.fs.mkdirp(raftDir);
    const startFile = new JsonFile(opts.fs, raftDir, 'start.json', startMetaSchema);
    const hardStateFile = new JsonFile(opts.fs, raftDir, 'state.json', hardStateSchema);
    const start = await startFile.read();
    const hs = (await hardStateFile.read()) ?? { term: 0, vote: null, commit: 0 };
    const firstIndex = (start?.index ?? 0) + 1;
    const log = await Log.open(join(opts.dir, 'log'), {
      ...opts.logOptions,
      segment: { ...opts.logOptions?.segment, initialOffset: firstIndex },
      // The node driver already hands the log one batch per Ready.
      gatherTurn: false,
      fs: opts.fs,
      logger: opts.logger,
    });
    try {
      await reconcileLogWithStart(log, start, logger);
    } catch (err) {
      await log.close();
      throw err;
    }
    const translator = new OffsetTranslator(firstIndex, start?.nextOffset ?? 0);
    const configIndexes: number[] = [];
    for (let i = firstIndex; i <= log.highestOffset(); i++) {
      const type = log.typeAt(i);
      translator.push(i, !isUserEntry(type));
      if (type === EntryType.Config) configIndexes.push(i);
    }
    // A persisted commit never names entries that are not durable (rule 5); clamp anyway.
    hs.commit = Math.max(Math.min(hs.commit, log.highestOffset()), firstIndex - 1);
    const limits = { ...defaultDedupLimits, ...opts.dedup };
    const source = {
      firstIndex,
      lastIndex: log.highestOffset(),
      typeAt: (i: number) => log.typeAt(i),
      dataAt: (i: number) => readOne(log, i),
      offsetOf: (i: number) => translator.offsetOf(i),
    };
    const dedup = rebuildDedup(source, dedupTable(start?.dedup, limits, firstIndex - 1), hs.commit);
    return new LogStorage(log, hardStateFile, startFile, start, hs, translator, configIndexes, logger, dedup);
  }

  /** Whether this node belongs to a cluster yet (bootstrapped, or adopted by a leader). */
  isInitialized(): boolean {
    return this.start !== undefined;
  }

  /**
   * Makes this node a cluster member's storage. A joining node (`bootstrapConfig` undefined) gets
   * start metadata only and learns everything else from the leader. A bootstrapping node also
   * writes the initial configuration as a config entry at index 1, term 1, and term 1 as its hard
   * state: every bootstrapping node writes byte-identical state (rule 3), and a member of the
   * initial configuration that did not bootstrap receives the entry from the leader like any other.
   */
  async initialize(initialOffset: number, bootstrapConfig?: ClusterConfig): Promise<void> {
    assert(this.start === undefined, 'storage is already initialized');
    assert(this.log.highestOffset() < this.log.lowestOffset(), 'cannot initialize a non-empty log');
    const start: StartMeta = { index: 0, term: 0, config: { voters: [], learners: [] }, configIndex: 0, nextOffset: initialOffset };
    await this.startFile.write(start);
    this.start = start;
    this.translator.reset(1, initialOffset);
    if (bootstrapConfig) {
      await this.append([{ index: 1, term: 1, type: EntryType.Config, data: encodeConfig(normalizeConfig(bootstrapConfig)) }]);
      await this.setHardState({ term: 1, vote: null, commit: 0 });
    }
  }

  // ---- RaftStorage ------------------------------------------------------------------------

  initialState(): { hardState: HardState; config: ClusterConfig; configIndex: number } {
    return { hardState: { ...this.hs }, ...this.configAt(this.lastIndex()) };
  }

  firstIndex(): number {
    return this.startIndex() + 1;
  }

  lastIndex(): number {
    return Math.max(this.log.highestOffset(), this.startIndex());
  }

  term(index: number): number {
    const start = this.startIndex();
    if (index === start) return this.start?.term ?? 0;
    if (index < start) throw new CompactedError(index, start + 1);
    return this.log.termAt(index);
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.startIndex()) throw new CompactedError(lo, this.firstIndex());
    if (hi <= lo) return [];
    return this.log.readRangeSync(lo, hi, maxBytes).map((r) => ({ index: r.offset, term: r.term, type: r.type, data: r.value }));
  }

  configAt(index: number): { config: ClusterConfig; configIndex: number } {
    for (let i = this.configIndexes.length - 1; i >= 0; i--) {
      const at = this.configIndexes[i] ?? 0;
      if (at > index) continue;
      const [rec] = this.log.readRangeSync(at, at + 1, Number.MAX_SAFE_INTEGER);
      assert(rec !== undefined, () => `config entry ${at} is missing`);
      return { config: decodeConfig(rec.value), configIndex: at };
    }
    return { config: this.start?.config ?? { voters: [], learners: [] }, configIndex: this.start?.configIndex ?? 0 };
  }

  snapshot(): SnapshotMeta {
    const s = this.start ?? { index: 0, term: 0, config: { voters: [], learners: [] }, configIndex: 0, nextOffset: this.translator.firstOffset() };
    const data = encodeSnapshotData({ nextOffset: s.nextOffset, ...(this.start?.dedup ? { dedup: this.start.dedup } : {}) });
    return { index: s.index, term: s.term, config: s.config, configIndex: s.configIndex, data };
  }

  // ---- mutations, called by the node driver in Ready order ---------------------------------

  /** Appends entries, first truncating a conflicting stored suffix (durably). */
  async append(entries: readonly Entry[]): Promise<void> {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index > this.startIndex(), () => `append at ${first.index} at or below the start ${this.startIndex()}`);
    if (first.index <= this.log.highestOffset()) {
      // Rule 7: forget the translation before the store loses the entries, never after.
      this.translator.truncateSuffix(first.index);
      this.dedup.truncateSuffix(first.index);
      while ((this.configIndexes[this.configIndexes.length - 1] ?? 0) >= first.index) this.configIndexes.pop();
      await this.log.truncateSuffix(first.index);
    }
    assert(first.index === this.log.nextOffset(), () => `append at ${first.index}, log ends at ${this.log.nextOffset()}`);
    await this.log.appendBatch(entries.map((e) => ({ value: e.data, term: e.term, type: e.type })));
    for (const e of entries) {
      this.translator.push(e.index, !isUserEntry(e.type));
      if (e.type === EntryType.Config) this.configIndexes.push(e.index);
    }
    this.dedup.appended(entries, (i) => this.translator.offsetOf(i));
  }

  /** Applies committed producer entries (up to `commit`) to the dedup state; the driver calls it. */
  applyCommitted(commit: number): void {
    this.dedup.applyThrough(Math.min(commit, this.lastIndex()));
  }

  /** Durably records term, vote and commit (commit clamped to the durable end: rule 5). */
  async setHardState(hs: HardState): Promise<void> {
    const next = { ...hs, commit: Math.min(hs.commit, this.lastIndex()) };
    await this.hardStateFile.write(next);
    this.hs = next;
  }

  hardState(): HardState {
    return { ...this.hs };
  }

  /** InstallSnapshot (rule 9): start metadata first, then the log restarts empty after it. */
  async installSnapshot(snap: SnapshotMeta): Promise<void> {
    const { nextOffset, dedup } = decodeSnapshotData(snap.data);
    const start: StartMeta = { index: snap.index, term: snap.term, config: snap.config, configIndex: snap.configIndex, nextOffset, ...(dedup ? { dedup } : {}) };
    await this.startFile.write(start);
    this.start = start;
    this.dedup.reset(dedupTable(dedup, this.dedup.table.limits, snap.index));
    this.translator.reset(snap.index + 1, nextOffset);
    this.configIndexes = [];
    await this.log.reset(snap.index + 1);
    this.logger.info({ index: snap.index, term: snap.term, nextOffset }, 'installed snapshot');
  }

  /**
   * Retention: drops whole segments at or below `upTo` (which must be committed: `commitIndex` is
   * the driver's, which may be ahead of the lazily persisted one). The start
   * metadata moves first (rule 1), then the segments go.
   */
  async compact(upTo: number, commitIndex: number): Promise<void> {
    const startIndex = this.startIndex();
    if (upTo <= startIndex) return;
    assert(upTo <= commitIndex, () => `compaction to ${upTo} past the commit index ${commitIndex}`);
    const { config, configIndex } = this.configAt(upTo);
    // The dedup state goes at the commit index (>= upTo): the entries between stay in the log.
    this.applyCommitted(commitIndex);
    const dedup = this.dedup.table.snapshot();
    const start: StartMeta = { index: upTo, term: this.term(upTo), config, configIndex, nextOffset: this.translator.nextOffsetAt(upTo + 1), dedup };
    await this.startFile.write(start);
    this.start = start;
    this.translator.advanceStart(upTo + 1);
    this.configIndexes = this.configIndexes.filter((i) => i > upTo);
    await this.log.truncate(upTo + 1);
  }

  async close(): Promise<void> {
    await this.log.close();
  }

  private startIndex(): number {
    return this.start?.index ?? 0;
  }
}

/**
 * Brings the log in line with the start metadata after a crash between writing the metadata and
 * changing the log (rule 1 and 9): a log that still holds entries at or below the start keeps them
 * until retention drops them; a log that does not hold (start index, start term) is reset.
 */
async function reconcileLogWithStart(log: Log, start: StartMeta | undefined, logger: Logger): Promise<void> {
  const empty = log.highestOffset() < log.lowestOffset();
  if (start === undefined) {
    if (!empty || log.lowestOffset() !== 1) {
      throw new CorruptionError(log.dir, 0, 'the log holds records but the Raft start metadata (raft/start.json) is missing');
    }
    return;
  }
  const first = start.index + 1;
  if (empty) {
    if (log.nextOffset() !== first) {
      logger.warn({ start: start.index, next: log.nextOffset() }, 'moving the empty log to the start metadata');
      await log.reset(first);
    }
    return;
  }
  if (log.lowestOffset() > first) {
    throw new CorruptionError(log.dir, 0, `the log starts at ${log.lowestOffset()} but the start metadata says ${first}`);
  }
  const holdsStart = log.lowestOffset() === first || (log.highestOffset() >= start.index && log.termAt(start.index) === start.term);
  if (!holdsStart) {
    logger.warn({ start: start.index, lowest: log.lowestOffset(), highest: log.highestOffset() }, 'finishing an interrupted snapshot install: resetting the log');
    await log.reset(first);
  }
}

/** The dedup state a start metadata holds, or an empty one at `index`. */
function dedupTable(snapshot: DedupSnapshot | undefined, limits: DedupLimits, index: number): ProducerTable {
  return snapshot ? ProducerTable.fromSnapshot(snapshot, limits) : new ProducerTable(limits, index);
}

/** The data of the entry at `index` (an open-time scan reads one header per request). */
function readOne(log: Log, index: number): Uint8Array {
  const [rec] = log.readRangeSync(index, index + 1, Number.MAX_SAFE_INTEGER);
  assert(rec !== undefined, () => `log entry ${index} is missing`);
  return rec.value;
}
