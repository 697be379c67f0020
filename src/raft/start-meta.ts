import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import type { ClusterConfig } from './core/types.js';
import { dedupSnapshotSchema, type DedupSnapshot } from './dedup-state.js';

/**
 * Start metadata (ARCHITECTURE 3a rule 1): "the log starts after index X, whose term is T, with
 * this configuration, and the first data entry after X has user offset `nextOffset`". Written
 * durably before any segment at or below X is deleted and before an InstallSnapshot resets the
 * log; bootstrap writes it at index 0.
 */
export interface StartMeta {
  index: number;
  term: number;
  config: ClusterConfig;
  configIndex: number;
  nextOffset: number;
  /** The producer-dedup state at an index >= `index` (absent: none, as written before it existed). */
  dedup?: DedupSnapshot;
}

const nat = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const startMetaSchema: z.ZodType<StartMeta> = z
  .object({
    index: nat,
    term: nat,
    config: z.object({ voters: z.array(z.string()), learners: z.array(z.string()) }).strict(),
    configIndex: nat,
    nextOffset: nat,
    dedup: dedupSnapshotSchema.optional(),
  })
  .strict();

/** What InstallSnapshot carries in SnapshotMeta.data: the user-offset base and the dedup state. */
export interface SnapshotData {
  nextOffset: number;
  dedup?: DedupSnapshot;
}

const snapshotDataSchema: z.ZodType<SnapshotData> = z.object({ nextOffset: nat, dedup: dedupSnapshotSchema.optional() }).strict();

export function encodeSnapshotData(data: SnapshotData): Uint8Array {
  return Buffer.from(JSON.stringify(data));
}

export function decodeSnapshotData(bytes: Uint8Array): SnapshotData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new InvalidArgumentError('snapshot data is not valid JSON');
  }
  const result = snapshotDataSchema.safeParse(parsed);
  if (!result.success) throw new InvalidArgumentError(`snapshot data has the wrong shape: ${result.error.message}`);
  return result.data;
}
