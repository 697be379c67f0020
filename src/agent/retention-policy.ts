/**
 * Which old segments retention drops (pure: no files, no clock). Whole segments only, oldest
 * first, never the active one (the last), never one holding an entry above `limitIndex` (the
 * commit index, and on the leader the trailing margin behind active followers: rule 14). A
 * segment goes when the log is over `retentionBytes`, or when its last append is older than
 * `retentionMs`; at most `maxSegmentsPerPass` go per pass.
 */

export interface RetentionPolicy {
  /** Keep the log at most this big (store + index files of every segment); 0 = no size limit. */
  retentionBytes: number;
  /** Drop segments whose last append is older than this; 0 = no age limit. */
  retentionMs: number;
  /** Bounded work: at most this many segments per pass. */
  maxSegmentsPerPass: number;
}

export interface RetentionSegment {
  /** First and last Raft index the segment holds. */
  firstIndex: number;
  lastIndex: number;
  sizeBytes: number;
  /** When this node last appended to it (epoch ms); undefined = not known, counts as new. */
  lastAppendMs?: number;
}

export interface RetentionPlan {
  /** Compact up to (and including) this Raft index: the last index of the last dropped segment. */
  upTo: number;
  segments: number;
  bytes: number;
}

export interface RetentionInput {
  /** Every segment, oldest first; the last one is the active segment. */
  segments: readonly RetentionSegment[];
  /** Highest index that may be dropped. */
  limitIndex: number;
  nowMs: number;
}

export function retentionEnabled(p: RetentionPolicy): boolean {
  return p.retentionBytes > 0 || p.retentionMs > 0;
}

/** The segments to drop now, or undefined when none may or need to go. */
export function planRetention(input: RetentionInput, policy: RetentionPolicy): RetentionPlan | undefined {
  let remaining = 0;
  for (const s of input.segments) remaining += s.sizeBytes;
  const oldBefore = input.nowMs - policy.retentionMs;
  let plan: RetentionPlan | undefined;
  for (const seg of input.segments.slice(0, -1)) {
    const overSize = policy.retentionBytes > 0 && remaining > policy.retentionBytes;
    const tooOld = policy.retentionMs > 0 && seg.lastAppendMs !== undefined && seg.lastAppendMs <= oldBefore;
    if ((!overSize && !tooOld) || seg.lastIndex > input.limitIndex) break;
    plan = { upTo: seg.lastIndex, segments: (plan?.segments ?? 0) + 1, bytes: (plan?.bytes ?? 0) + seg.sizeBytes };
    remaining -= seg.sizeBytes;
    if (plan.segments >= policy.maxSegmentsPerPass) break;
  }
  return plan;
}
