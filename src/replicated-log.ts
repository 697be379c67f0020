/**
 * The one interface the gRPC service is written against. A single node's local segmented log
 * implements it (a one-node cluster); the Raft-replicated log implements it too, so the service
 * never changes when replication is plugged in.
 *
 * Offsets are user offsets: dense over data records, starting at the log's initial offset.
 */

/** A record as a consumer sees it. */
export interface ConsumedRecord {
  offset: number;
  value: Buffer;
  /** Raft term the record was written in (0 on a log that is not replicated). */
  term: number;
}

/** One member of the cluster, as GetServers reports it. */
export interface ServerInfo {
  id: string;
  /** `host:port` of the node's mux (Raft + gRPC), as advertised. */
  rpcAddr: string;
  isLeader: boolean;
}

export interface AppendOptions {
  /** Abort waiting (the append may still happen: its outcome is then unknown). */
  signal?: AbortSignal;
}

/** An idempotent producer (docs/api.md) and the sequence of a request's first record. */
export interface ProducerRef {
  /** 1 to 255 bytes of UTF-8 (a client uses a random UUID). */
  id: string;
  /** The first record's sequence; a request of n records takes sequence .. sequence + n - 1. */
  sequence: number;
}

export interface AppendResult {
  /** The first record's offset (of the originals, for a duplicate). */
  offset: number;
  /** True when every record repeated one already appended: nothing was appended. */
  duplicate: boolean;
}

export interface ReadBatchLimits {
  /** At most this many records. */
  maxRecords: number;
  /** Stop before the batch's values exceed this many bytes (at least one record is returned). */
  maxBytes: number;
}

export interface ReplicatedLog {
  /**
   * Appends values in order with consecutive offsets and resolves with the first offset once
   * they are durable (on a majority, for a replicated log). Rejects with NotLeaderError,
   * UnavailableError, RecordTooLargeError, DiskFullError, ... (src/errors.ts).
   */
  append(values: readonly Buffer[], opts?: AppendOptions): Promise<number>;
  /**
   * append() for an idempotent producer: a retry of records already appended (or in flight) is
   * answered with the originals' offset instead of appending them again. Rejects with
   * ProducerSequenceError on a sequence gap, an unknown producer with a sequence above 0, or a
   * duplicate too old to report; otherwise as append().
   */
  appendIdempotent(values: readonly Buffer[], producer: ProducerRef, opts?: AppendOptions): Promise<AppendResult>;
  /** Reads one committed record; OffsetOutOfRangeError when outside [lowestOffset, highestOffset]. */
  read(offset: number): Promise<ConsumedRecord>;
  /**
   * Reads committed records starting at `from`: an empty array when `from` is just past the end;
   * OffsetOutOfRangeError when `from` is below the start or further past the end.
   */
  readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]>;
  /**
   * Resolves once `offset` is readable (committed here), or at once if it already is. Rejects
   * with an AbortError when `signal` aborts, and with ClosedError when the log closes.
   */
  waitFor(offset: number, signal?: AbortSignal): Promise<void>;
  /**
   * Linearizable read point (ReadIndex): resolves once this node can read every record that was
   * committed anywhere before the call. Rejects with UnavailableError when no leader can confirm
   * it (no leader, quorum lost, shutdown, its own deadline) and with the signal's reason when
   * `signal` aborts. A log that is not replicated resolves at once.
   */
  readBarrier(signal?: AbortSignal): Promise<void>;
  /** Lowest readable offset. */
  lowestOffset(): number;
  /** Highest readable (committed) offset; lowestOffset() - 1 when there is none. */
  highestOffset(): number;
  /** The cluster's members, the leader flagged. */
  servers(): Promise<ServerInfo[]>;
  close(): Promise<void>;
}
