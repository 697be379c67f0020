/**
 * Retention on one node (`--retention-bytes`, `--retention-ms`): a background pass every
 * `intervalMs` drops whole old segments chosen by retention-policy.ts, through RaftNode.compact
 * (start metadata first, then the files; never past the commit index nor, on the leader, within
 * `marginEntries` of an active follower: rule 14). A follower that falls behind the leader's start
 * catches up with InstallSnapshot. A segment's age is its store file's mtime: the time of the last
 * append to it on this node (every node can know it; it does not need the records' contents).
 */
import { stat } from 'node:fs/promises';
import { Counter, type Registry } from 'prom-client';
import { errorMessage } from '../errors.js';
import type { AgentConfig } from '../config.js';
import type { Log, SegmentInfo } from '../log/index.js';
import type { Logger } from '../logger.js';
import type { RaftNode } from '../raft/node.js';
import { planRetention, retentionEnabled, type RetentionPlan, type RetentionPolicy, type RetentionSegment } from './retention-policy.js';

export interface RetentionOptions extends Partial<Pick<RetentionPolicy, 'maxSegmentsPerPass'>> {
  node: RaftNode;
  log: Log;
  retentionBytes: number;
  retentionMs: number;
  intervalMs: number;
  /** On the leader: entries kept behind the slowest active follower. */
  marginEntries: number;
  logger: Logger;
  /** Where the deletion counters go (the agent's metrics registry). */
  registry?: Registry;
  now?: () => number;
  /** The time of the last append to a segment's store file (default: its mtime). */
  lastAppendMs?: (storePath: string) => Promise<number | undefined>;
}

export interface RetentionResult {
  segments: number;
  bytes: number;
}

export class Retention {
  private readonly policy: RetentionPolicy;
  private readonly log: Logger;
  private readonly deletedSegments: Counter | undefined;
  private readonly deletedBytes: Counter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<unknown> = Promise.resolve();
  private running = false;
  private closed = false;

  constructor(private readonly opts: RetentionOptions) {
    this.policy = { retentionBytes: opts.retentionBytes, retentionMs: opts.retentionMs, maxSegmentsPerPass: opts.maxSegmentsPerPass ?? 16 };
    this.log = opts.logger.child({ component: 'retention' });
    if (opts.registry) {
      const registers = [opts.registry];
      this.deletedSegments = new Counter({ name: 'replog_retention_deleted_segments_total', help: 'Log segments deleted by retention', registers });
      this.deletedBytes = new Counter({ name: 'replog_retention_deleted_bytes_total', help: 'Bytes of log segments deleted by retention', registers });
    }
  }

  /** Starts the background passes (nothing when both limits are off). */
  start(): void {
    if (!retentionEnabled(this.policy) || this.timer || this.closed) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.pass = this.runOnce().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'retention pass failed'));
    }, this.opts.intervalMs);
    this.timer.unref();
    this.log.info({ retentionBytes: this.policy.retentionBytes, retentionMs: this.policy.retentionMs, intervalMs: this.opts.intervalMs }, 'retention on');
  }

  /** One pass: drops what the policy allows now; resolves with what was deleted. */
  async runOnce(): Promise<RetentionResult> {
    if (this.running || this.closed) return { segments: 0, bytes: 0 };
    this.running = true;
    try {
      const before = this.opts.log.segments();
      const plan = planRetention(
        { segments: await this.describe(before), limitIndex: this.opts.node.compactionLimit(this.opts.marginEntries), nowMs: (this.opts.now ?? Date.now)() },
        this.policy,
      );
      if (!plan) return { segments: 0, bytes: 0 };
      await this.opts.node.compact(plan.upTo, this.opts.marginEntries);
      return this.account(before, plan);
    } finally {
      this.running = false;
    }
  }

  /** Stops the passes and waits for a running one. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pass;
  }

  /** Sizes from memory; ages (a stat each) only for the segments one pass may drop. */
  private async describe(segments: readonly SegmentInfo[]): Promise<RetentionSegment[]> {
    const out: RetentionSegment[] = segments.map((s) => ({ firstIndex: s.baseOffset, lastIndex: s.nextOffset - 1, sizeBytes: s.sizeBytes }));
    if (this.policy.retentionMs <= 0) return out;
    const ageOf = this.opts.lastAppendMs ?? storeMtimeMs;
    const n = Math.min(this.policy.maxSegmentsPerPass, segments.length - 1);
    for (let i = 0; i < n; i++) {
      const seg = out[i];
      const info = segments[i];
      if (seg && info) seg.lastAppendMs = await ageOf(info.storePath);
    }
    return out;
  }

  private account(before: readonly SegmentInfo[], plan: RetentionPlan): RetentionResult {
    const kept = new Set(this.opts.log.segments().map((s) => s.baseOffset));
    const gone = before.filter((s) => !kept.has(s.baseOffset));
    const bytes = gone.reduce((sum, s) => sum + s.sizeBytes, 0);
    this.deletedSegments?.inc(gone.length);
    this.deletedBytes?.inc(bytes);
    if (gone.length > 0) {
      this.log.info({ segments: gone.length, bytes, planned: plan.segments, firstIndex: this.opts.log.lowestOffset() }, 'retention deleted old segments');
    }
    return { segments: gone.length, bytes };
  }
}

/** A store file's mtime: the last append to the segment on this node. Undefined if it is gone. */
async function storeMtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The agent's retention from its options, started (a no-op when both limits are 0). */
export function startRetention(config: AgentConfig, node: RaftNode, log: Log, registry: Registry, logger: Logger): Retention {
  const retention = new Retention({
    node,
    log,
    retentionBytes: config.retentionBytes,
    retentionMs: config.retentionMs,
    intervalMs: config.retentionIntervalMs,
    marginEntries: config.retentionMarginEntries,
    logger,
    registry,
  });
  retention.start();
  return retention;
}
