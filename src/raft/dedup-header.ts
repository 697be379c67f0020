/**
 * The producer header of an idempotent request's first record (docs/format.md, "Producer
 * entries"). A request of n records from producer P with first sequence s is stored as n
 * consecutive entries: one `ProducerData` entry whose data is this header + the first value, then
 * n - 1 `ProducerNext` entries holding only their values (each is "the previous entry's producer,
 * sequence + 1"). Consumers see only the values.
 *
 * Header: `u8 version (1)`, `u8 id length (1..255)`, the id as UTF-8, `u64 sequence` (big-endian,
 * below 2^53).
 */
import { CorruptionError, InvalidArgumentError, MAX_OFFSET } from '../errors.js';
import { readU64, writeU64 } from '../log/record.js';
import type { ProducerRef } from '../replicated-log.js';
import { EntryType } from './core/types.js';

export const PRODUCER_HEADER_VERSION = 1;
/** Longest producer id, in UTF-8 bytes. */
export const PRODUCER_ID_MAX_BYTES = 255;


/** Throws InvalidArgumentError unless `ref` names a usable producer and `count` sequences fit. */
export function checkProducer(ref: ProducerRef, count: number): void {
  const bytes = Buffer.byteLength(ref.id, 'utf8');
  if (bytes === 0 || bytes > PRODUCER_ID_MAX_BYTES) {
    throw new InvalidArgumentError(`a producer id must be 1 to ${PRODUCER_ID_MAX_BYTES} bytes of UTF-8, got ${bytes}`);
  }
  if (!Number.isSafeInteger(ref.sequence) || ref.sequence < 0 || ref.sequence + count - 1 > MAX_OFFSET) {
    throw new InvalidArgumentError(`producer sequence ${ref.sequence} (+${count} records) is out of range`);
  }
}

/** The entries' types and data for a request's values, the header on the first. */
export function producerEntries(ref: ProducerRef, values: readonly Uint8Array[]): { type: EntryType; data: Uint8Array }[] {
  return values.map((value, i) =>
    i === 0 ? { type: EntryType.ProducerData, data: withHeader(ref, value) } : { type: EntryType.ProducerNext, data: value },
  );
}

function withHeader(ref: ProducerRef, value: Uint8Array): Buffer {
  const id = Buffer.from(ref.id, 'utf8');
  const buf = Buffer.allocUnsafe(2 + id.length + 8 + value.length);
  buf[0] = PRODUCER_HEADER_VERSION;
  buf[1] = id.length;
  id.copy(buf, 2);
  writeU64(buf, 2 + id.length, ref.sequence);
  buf.set(value, 10 + id.length);
  return buf;
}

/** The producer and sequence in a ProducerData entry's data, and where its value starts. */
export function decodeProducerHeader(data: Uint8Array, where = 'producer entry'): ProducerRef & { valueStart: number } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const idLength = buf[1] ?? 0;
  const valueStart = 10 + idLength;
  if (buf[0] !== PRODUCER_HEADER_VERSION || idLength === 0 || buf.length < valueStart) {
    throw new CorruptionError(where, 0, 'malformed producer header');
  }
  const sequence = readU64(buf, 2 + idLength);
  if (sequence === undefined) throw new CorruptionError(where, 0, 'producer sequence above 2^53');
  return { id: buf.toString('utf8', 2, 2 + idLength), sequence, valueStart };
}

/** What a consumer sees of an entry's data: the value without a producer header. */
export function userValue(type: EntryType, data: Buffer): Buffer {
  return type === EntryType.ProducerData ? data.subarray(decodeProducerHeader(data).valueStart) : data;
}
