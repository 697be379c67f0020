/**
 * Every error replog raises on purpose is one of these classes. They carry data (not only a
 * message) so callers can act on them, and `src/server/status.ts` maps them to gRPC status codes
 * in one place. Broken invariants are not errors: they go through `assert`, which stops the process.
 */

/** Base class: `code` is a stable, machine-readable name. */
export abstract class ReplogError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Where an out-of-range offset lies relative to the log. */
export type OutOfRangeReason = 'not-yet' | 'gone';

/** An offset outside [lowest, highest]: "not-yet" above the end, "gone" below the start. */
export class OffsetOutOfRangeError extends ReplogError {
  readonly code = 'OFFSET_OUT_OF_RANGE';
  readonly reason: OutOfRangeReason;
  readonly offset: bigint;
  constructor(
    offset: number | bigint,
    readonly lowest: number,
    /** Highest readable offset, or lowest - 1 when the log is empty. */
    readonly highest: number,
  ) {
    const reason: OutOfRangeReason = BigInt(offset) < BigInt(lowest) ? 'gone' : 'not-yet';
    super(
      reason === 'gone'
        ? `offset ${offset} is gone: the lowest available offset is ${lowest}`
        : `offset ${offset} is not yet in the log: the log holds [${lowest}, ${highest}]`,
    );
    this.reason = reason;
    this.offset = BigInt(offset);
  }
}

/**
 * Offsets and Raft indexes are JavaScript numbers inside replog (exact up to 2^53 - 1, about
 * 9 * 10^15: 285 years at a million records a second); the wire carries uint64, and the API
 * boundary turns anything above this into an out-of-range error.
 */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

/** A record (or batch) larger than the configured limit. */
export class RecordTooLargeError extends ReplogError {
  readonly code = 'RECORD_TOO_LARGE';
  constructor(
    readonly sizeBytes: number,
    readonly maxBytes: number,
    what = 'record',
  ) {
    super(`${what} of ${sizeBytes} bytes exceeds the limit of ${maxBytes} bytes`);
  }
}

/** Bad input from a caller: a malformed request, an impossible argument. */
export class InvalidArgumentError extends ReplogError {
  readonly code = 'INVALID_ARGUMENT';
}

/** Data on disk that fails its checksum or framing somewhere other than a torn tail. */
export class CorruptionError extends ReplogError {
  readonly code = 'CORRUPTION';
  constructor(
    readonly file: string,
    readonly position: number,
    readonly detail: string,
  ) {
    super(`corrupt data in ${file} at byte ${position}: ${detail}`);
  }
}

/** An operation on a log (or other component) after `close()`. */
export class ClosedError extends ReplogError {
  readonly code = 'CLOSED';
  constructor(what = 'log') {
    super(`${what} is closed`);
  }
}

/** An I/O error from the file system, with the operation and path that failed. */
export class StorageError extends ReplogError {
  readonly code: string = 'STORAGE';
  constructor(
    readonly op: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(`${op} ${path} failed: ${errorMessage(cause)}`, { cause });
  }
}

/** The file system is full (ENOSPC / EDQUOT). Nothing written before is damaged. */
export class DiskFullError extends StorageError {
  override readonly code = 'DISK_FULL';
}

/**
 * A write or fsync failed in a way that leaves the durable state unknown (the fsyncgate lesson:
 * a failed fsync may have dropped dirty pages). The log refuses every further write; the error is
 * never retried and never acknowledged.
 */
export class LogFailedError extends ReplogError {
  readonly code = 'LOG_FAILED';
  constructor(cause: unknown) {
    super(`log stopped after a failed write or sync; restart to recover: ${errorMessage(cause)}`, {
      cause,
    });
  }
}

/** Raft: the requested entries were removed by compaction; the follower needs a snapshot. */
export class CompactedError extends ReplogError {
  readonly code = 'COMPACTED';
  constructor(
    readonly index: number,
    readonly firstIndex: number,
  ) {
    super(`index ${index} is compacted: the log starts at ${firstIndex}`);
  }
}

/** This node is not the leader. `leaderId`/`leaderAddr` name the leader when one is known. */
export class NotLeaderError extends ReplogError {
  readonly code = 'NOT_LEADER';
  constructor(
    readonly leaderId?: string,
    readonly leaderAddr?: string,
  ) {
    super(leaderId ? `not the leader; the leader is ${leaderId}${leaderAddr ? ` at ${leaderAddr}` : ''}` : 'no leader is known');
  }
}

/** The cluster cannot answer now (no quorum, step-down, outcome unknown); the caller may retry. */
export class UnavailableError extends ReplogError {
  readonly code = 'UNAVAILABLE';
  constructor(
    message: string,
    readonly leaderAddr?: string,
  ) {
    super(message);
  }
}

/** Why the Raft core refused a request (it is retryable, hence an UnavailableError). */
export type RaftRefusalReason =
  /** The leader's noop of its current term is not committed yet (rule 4). */
  | 'noop-uncommitted'
  /** A configuration entry is appended but not committed (rules 4 and 11). */
  | 'config-pending'
  /** A leadership transfer is in progress: proposals wait (rule 11). */
  | 'transfer-in-progress'
  /** The transfer target is further behind than transferLagEntriesMax, or needs a snapshot. */
  | 'target-lagging'
  /** The last voter cannot be removed. */
  | 'last-voter'
  /** Too many ReadIndex requests are waiting for the noop to commit. */
  | 'reads-queue-full';

/** A refusal of the Raft core; `reason` is machine-readable. Maps to UNAVAILABLE (retryable). */
export class RaftRefusedError extends UnavailableError {
  constructor(
    readonly reason: RaftRefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/** A deadline passed before the operation completed. */
export class TimeoutError extends ReplogError {
  readonly code = 'TIMEOUT';
}

/** No valid client identity where one is required. */
export class UnauthenticatedError extends ReplogError {
  readonly code = 'UNAUTHENTICATED';
}

/** The ACL denies `subject` the `action`. */
export class PermissionDeniedError extends ReplogError {
  readonly code = 'PERMISSION_DENIED';
  constructor(
    readonly subject: string,
    readonly action: string,
  ) {
    super(`${subject} is not permitted to ${action}`);
  }
}

/**
 * A stream's client took no data for `stalledMs` while the server held `heldBytes` for it: the
 * stream is ended (RESOURCE_EXHAUSTED) so that the memory it pins returns to other clients.
 */
export class SlowConsumerError extends ReplogError {
  readonly code = 'SLOW_CONSUMER';
  constructor(
    readonly stalledMs: number,
    readonly heldBytes: number,
  ) {
    super(`the client took no data for ${stalledMs} ms while ${heldBytes} bytes waited for it; the stream is closed`);
  }
}

/** A configuration value is invalid; `option` names it the way the user wrote it. */
export class ConfigError extends ReplogError {
  readonly code = 'CONFIG';
  constructor(
    readonly option: string,
    detail: string,
  ) {
    super(`${option}: ${detail}`);
  }
}

/** A broken invariant: a bug, never an operating condition. Thrown by `assert`. */
export class AssertionFailure extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'AssertionFailure';
  }
}

/** Stops the current operation when an invariant does not hold. */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionFailure(typeof message === 'function' ? message() : message);
}

/** Turns a Node.js system error into the right storage error class. */
export function storageError(op: string, path: string, cause: unknown): StorageError {
  const code = errnoCode(cause);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new DiskFullError(op, path, cause);
  return new StorageError(op, path, cause);
}

/** The `code` of a Node.js system error (`ENOENT`, ...), if any. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const { code } = err;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Anything thrown, as an Error. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Client side: a produce reached a node (or may have) and no answer says whether it was appended
 * (UNAVAILABLE after sending, a lost connection, a deadline). Retrying may duplicate the records
 * (ARCHITECTURE 3a rule 6); the client retries only when the caller opted in (`retryUnknown`).
 */
export class OutcomeUnknownError extends UnavailableError {
  readonly outcomeUnknown = true;
  constructor(
    /** The node the request was sent to. */
    readonly addr: string,
    /** Records whose outcome is unknown. */
    readonly records: number,
    cause: unknown,
    leaderAddr?: string,
  ) {
    super(`outcome of ${records} record(s) sent to ${addr} is unknown (they may or may not be appended): ${errorMessage(cause)}`, leaderAddr);
    this.cause = cause;
  }
}

/** Client side: every attempt failed retryably, within `attempts` tries and `elapsedMs`. */
export class RetriesExhaustedError extends UnavailableError {
  constructor(
    readonly operation: string,
    readonly attempts: number,
    readonly elapsedMs: number,
    cause: unknown,
  ) {
    super(`${operation} failed after ${attempts} attempt(s) in ${elapsedMs} ms: ${errorMessage(cause)}`);
    this.cause = cause;
  }
}

/**
 * Why an idempotent producer's request was refused (docs/api.md, "Idempotent producers"):
 * - `gap`: its first sequence is above the next one expected (`expected`);
 * - `unknown-producer`: the producer is new or expired and the sequence is not 0 (`expected` = 0);
 * - `too-old`: it repeats records appended too long ago for their offset to be known
 *   (`expected` = the earliest sequence still remembered).
 */
export type ProducerSequenceProblem = 'gap' | 'unknown-producer' | 'too-old';

/** An idempotent producer's sequence cannot be accepted. Maps to FAILED_PRECONDITION. */
export class ProducerSequenceError extends ReplogError {
  readonly code = 'PRODUCER_SEQUENCE';
  constructor(
    readonly producerId: string,
    readonly problem: ProducerSequenceProblem,
    readonly sequence: number,
    readonly expected: number,
  ) {
    super(producerSequenceMessage(producerId, problem, sequence, expected));
  }
}

function producerSequenceMessage(id: string, problem: ProducerSequenceProblem, sequence: number, expected: number): string {
  switch (problem) {
    case 'gap':
      return `producer ${id}: sequence ${sequence} leaves a gap; the next expected sequence is ${expected}`;
    case 'unknown-producer':
      return `producer ${id} is unknown (new, or expired): its first sequence must be 0, got ${sequence}`;
    case 'too-old':
      return `producer ${id}: sequence ${sequence} repeats records too old to report their offset (sequences from ${expected} are remembered)`;
  }
}
