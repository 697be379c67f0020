/**
 * How the client reads a failed call: is it worth another node, did the request provably never
 * leave, which leader did the server name. ARCHITECTURE 6 (status codes, `replog-leader`) and
 * 3a rule 6 (UNAVAILABLE after sending = outcome unknown).
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { UnavailableError } from '../errors.js';

/** Trailing metadata naming the leader on UNAVAILABLE (the server's LEADER_METADATA_KEY). */
export const LEADER_METADATA_KEY = 'replog-leader';

/**
 * What a failed produce means for a retry:
 * - `not-sent`: the request never left this process (no connection): retrying is safe.
 * - `unknown`: it was sent and the answer does not say whether it was appended.
 * - `final`: the server refused it for good (INVALID_ARGUMENT, PERMISSION_DENIED, ...).
 */
export type ProduceFailure = 'not-sent' | 'unknown' | 'final';

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** grpc-js fails a call this way when no connection could be picked: nothing was sent. */
const notSentDetails = /^(?:\w+: )?No connection established|^Name resolution failed/;

export function classifyProduceFailure(err: unknown): ProduceFailure {
  if (err instanceof UnavailableError) return 'unknown';
  if (!isServiceError(err)) return 'final';
  if (err.code === Status.UNAVAILABLE && notSentDetails.test(err.details)) return 'not-sent';
  if (err.code === Status.UNAVAILABLE || err.code === Status.DEADLINE_EXCEEDED) return 'unknown';
  return 'final';
}

/** Reads are idempotent: any failure of the node (not of the request) is worth another node. */
export function isReadRetryable(err: unknown): boolean {
  if (err instanceof UnavailableError) return true;
  return isServiceError(err) && (err.code === Status.UNAVAILABLE || err.code === Status.DEADLINE_EXCEEDED);
}

/** RESOURCE_EXHAUSTED: a server limit (e.g. a ConsumeStream reset because its reader stalled). */
export function isResourceExhausted(err: unknown): boolean {
  return isServiceError(err) && err.code === Status.RESOURCE_EXHAUSTED;
}

export function isOutOfRange(err: unknown): boolean {
  return isServiceError(err) && err.code === Status.OUT_OF_RANGE;
}

/** The leader's `host:port` from the `replog-leader` trailer, if the server sent one. */
export function leaderHint(err: unknown): string | undefined {
  if (!isServiceError(err) || err.code !== Status.UNAVAILABLE) return undefined;
  const v = err.metadata?.get(LEADER_METADATA_KEY)[0];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Trailing metadata of a ProduceStream ended by a request's own failure (the server's REQUEST_FAILED_METADATA_KEY). */
export const REQUEST_FAILED_METADATA_KEY = 'replog-request-failed';

/** Whether a ProduceStream's status is the answer of its oldest unanswered request (not a failure of the whole stream). */
export function isRequestFailure(err: unknown): boolean {
  return isServiceError(err) && err.metadata?.get(REQUEST_FAILED_METADATA_KEY)[0] === '1';
}

/** Trailing metadata of a refused idempotent produce (the server's PRODUCER_PROBLEM_METADATA_KEY). */
export const PRODUCER_PROBLEM_METADATA_KEY = 'replog-producer-problem';

/** Why the server refused an idempotent producer's sequence (FAILED_PRECONDITION), if it did. */
export function producerProblem(err: unknown): 'gap' | 'unknown-producer' | 'too-old' | undefined {
  if (!isServiceError(err) || err.code !== Status.FAILED_PRECONDITION) return undefined;
  const v = err.metadata?.get(PRODUCER_PROBLEM_METADATA_KEY)[0];
  return v === 'gap' || v === 'unknown-producer' || v === 'too-old' ? v : undefined;
}
