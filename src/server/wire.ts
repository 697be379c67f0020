/**
 * Conversions at the API boundary: wire messages (bigint offsets) <-> the ReplicatedLog's
 * numbers, and validation of produce requests against the record and batch limits.
 */
import { InvalidArgumentError, MAX_OFFSET, OffsetOutOfRangeError, RecordTooLargeError } from '../errors.js';
import type { ConsumedRecord, ReplicatedLog } from '../replicated-log.js';
import type { ProduceRequest, Record as WireRecord } from '../gen/log/v1/log.js';

export interface RecordLimits {
  maxRecordBytes: number;
  /** Sum of the values of one batch request. */
  maxBatchBytes: number;
}

/** The values to append, in order; throws InvalidArgumentError / RecordTooLargeError. */
export function valuesOf(req: ProduceRequest, limits: RecordLimits): Buffer[] {
  if (req.record !== undefined && req.records.length > 0) {
    throw new InvalidArgumentError('set either record (field 1) or records (field 2), not both');
  }
  const records = req.record !== undefined ? [req.record] : req.records;
  if (records.length === 0) throw new InvalidArgumentError('the request holds no record');
  let total = 0;
  const values: Buffer[] = [];
  for (const r of records) {
    if (r.value.length > limits.maxRecordBytes) throw new RecordTooLargeError(r.value.length, limits.maxRecordBytes);
    total += r.value.length;
    values.push(r.value);
  }
  if (total > limits.maxBatchBytes) throw new RecordTooLargeError(total, limits.maxBatchBytes, 'batch');
  return values;
}

/** A wire offset as a number; above MAX_OFFSET it cannot be in the log: OUT_OF_RANGE. */
export function offsetFromWire(offset: bigint, log: ReplicatedLog): number {
  if (offset > BigInt(MAX_OFFSET)) throw new OffsetOutOfRangeError(offset, log.lowestOffset(), log.highestOffset());
  return Number(offset);
}

export function recordToWire(r: ConsumedRecord): WireRecord {
  return { value: r.value, offset: BigInt(r.offset), term: BigInt(r.term), type: 0 };
}

/**
 * What the service's request deserializers return for bytes that are not a valid message
 * (grpc-js would answer INTERNAL; ARCHITECTURE 6 wants INVALID_ARGUMENT). The handlers pass every
 * request through `wellFormed`, which turns it into InvalidArgumentError.
 */
export class MalformedRequest {
  constructor(readonly detail: string) {}
}

/** The request, or InvalidArgumentError when its bytes did not decode. */
export function wellFormed<T>(req: T): T {
  const r: unknown = req;
  if (r instanceof MalformedRequest) throw new InvalidArgumentError(`the request is not a valid protobuf message: ${r.detail}`);
  return req;
}

/** Wraps a deserializer so that undecodable bytes become a MalformedRequest, not an exception. */
export function tolerantDeserializer<T>(decode: (b: Buffer) => T): (b: Buffer) => T {
  return (b) => {
    try {
      return decode(b);
    } catch (err) {
      return new MalformedRequest(err instanceof Error ? err.message : 'undecodable') as unknown as T;
    }
  };
}
