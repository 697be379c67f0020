/**
 * The one place where errors become gRPC status (ARCHITECTURE 6). Anything not listed is
 * INTERNAL with a generic message: internals (paths, stack traces) never reach a client.
 */
import { basename } from 'node:path';
import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import {
  ClosedError,
  CorruptionError,
  DiskFullError,
  InvalidArgumentError,
  LogFailedError,
  NotLeaderError,
  OffsetOutOfRangeError,
  PermissionDeniedError,
  ProducerSequenceError,
  RecordTooLargeError,
  SlowConsumerError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
} from '../errors.js';

/** Trailing metadata key naming the leader's address on UNAVAILABLE, when it is known. */
export const LEADER_METADATA_KEY = 'replog-leader';
/**
 * Trailing metadata of a ProduceStream ended by a request's own failure: the status is the answer
 * of the oldest request not answered yet (the requests after it were not answered either).
 * Without it, the stream failed as a whole (grpc-js refused a message, the connection broke...).
 */
export const REQUEST_FAILED_METADATA_KEY = 'replog-request-failed';
/** Trailing metadata of a refused idempotent produce: the problem (gap, unknown-producer, too-old) ... */
export const PRODUCER_PROBLEM_METADATA_KEY = 'replog-producer-problem';
/** ... and the sequence the server expected. */
export const EXPECTED_SEQUENCE_METADATA_KEY = 'replog-expected-sequence';

export type GrpcStatus = StatusObject;

/**
 * Maps an error to the status sent to the client.
 * - LogFailedError -> UNAVAILABLE: this node's log stopped after a failed write or fsync and
 *   takes no more writes until restarted; another node (or this one after a restart) can serve.
 * - ClosedError -> UNAVAILABLE: the node is shutting down.
 * - CorruptionError -> DATA_LOSS naming the segment file (its base name, never the path): this
 *   node refuses to serve bytes that fail their checksum; another node can serve them.
 */
export function toStatus(err: unknown): GrpcStatus {
  const metadata = new Metadata();
  const s = (code: Status, details: string): GrpcStatus => ({ code, details, metadata });
  if (err instanceof OffsetOutOfRangeError) return s(Status.OUT_OF_RANGE, err.message);
  if (err instanceof RecordTooLargeError || err instanceof InvalidArgumentError) {
    return s(Status.INVALID_ARGUMENT, err.message);
  }
  if (err instanceof CorruptionError) {
    return s(Status.DATA_LOSS, `corrupt data in segment file ${basename(err.file)} at byte ${err.position}: ${err.detail}`);
  }
  if (err instanceof DiskFullError) return s(Status.RESOURCE_EXHAUSTED, 'the disk is full');
  if (err instanceof SlowConsumerError) return s(Status.RESOURCE_EXHAUSTED, err.message);
  if (err instanceof ProducerSequenceError) {
    metadata.set(PRODUCER_PROBLEM_METADATA_KEY, err.problem);
    metadata.set(EXPECTED_SEQUENCE_METADATA_KEY, String(err.expected));
    return s(Status.FAILED_PRECONDITION, err.message);
  }
  if (err instanceof UnauthenticatedError) return s(Status.UNAUTHENTICATED, err.message);
  if (err instanceof PermissionDeniedError) return s(Status.PERMISSION_DENIED, err.message);
  if (err instanceof NotLeaderError || err instanceof UnavailableError) {
    if (err.leaderAddr) metadata.set(LEADER_METADATA_KEY, err.leaderAddr);
    return s(Status.UNAVAILABLE, err.message);
  }
  if (err instanceof LogFailedError) return s(Status.UNAVAILABLE, 'the log on this node failed; it takes no writes until restarted');
  if (err instanceof ClosedError) return s(Status.UNAVAILABLE, 'the node is shutting down');
  if (err instanceof TimeoutError) return s(Status.DEADLINE_EXCEEDED, err.message);
  return s(Status.INTERNAL, 'internal error');
}

/**
 * True when the error deserves a log line on the server: toStatus hides its details (INTERNAL),
 * or it is corruption (DATA_LOSS: the log line has the file's full path, for the operator).
 */
export function isInternal(err: unknown): boolean {
  const { code } = toStatus(err);
  return code === Status.INTERNAL || code === Status.DATA_LOSS;
}
