/**
 * The contract of the pure Raft core: its inputs (messages, ticks, proposals), its outputs
 * (Ready), and the storage it reads. Nothing here does I/O. Indexes and terms are numbers
 * (exact up to 2^53 - 1; see MAX_OFFSET in src/errors.ts).
 *
 * Node identity (ARCHITECTURE 3a rule 2): a NodeId is the node's name together with the UUID of
 * its data directory, e.g. `n1/4f6c...`. A node that comes back with a wiped disk has a new
 * NodeId, so it is simply not a member until the leader adds it: it can never vote as the voter
 * it used to be. The driver drops messages whose `to` is not its own NodeId.
 */

export type NodeId = string;

/** Entry types, stored as one byte with every record of the segmented log. */
export const EntryType = {
  /** A user record: counted in user offsets and visible to consumers. */
  Data: 0,
  /** Appended by a new leader at the start of its term. */
  Noop: 1,
  /** A full cluster configuration (see encodeConfig in config.ts). */
  Config: 2,
  /**
   * The first user record of an idempotent producer's request: data = producer header (producer
   * id, sequence; src/raft/dedup-header.ts) + value. Counted in user offsets like Data.
   */
  ProducerData: 3,
  /** A further user record of the same request: the previous entry's producer, sequence + 1; no header. */
  ProducerNext: 4,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** Whether entries of this type are user records (counted in user offsets, seen by consumers). */
export function isUserEntry(type: EntryType): boolean {
  return type === EntryType.Data || type === EntryType.ProducerData || type === EntryType.ProducerNext;
}

export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  data: Uint8Array;
}

/** A value to propose: the core assigns index and term. */
export interface Proposal {
  type: EntryType;
  data: Uint8Array;
}

/** The cluster configuration. Both lists are sorted by id and disjoint. */
export interface ClusterConfig {
  voters: NodeId[];
  learners: NodeId[];
}

/** One membership change; applied one server at a time. */
export type ConfigChange =
  | { type: 'addLearner'; id: NodeId }
  | { type: 'promote'; id: NodeId }
  | { type: 'remove'; id: NodeId };

/** Must be durable before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId | null;
  commit: number;
}

/**
 * "The log starts after index X, whose term is T, with this configuration". The core treats
 * `data` as opaque: the storage layer keeps the user-offset base and producer state in it.
 */
export interface SnapshotMeta {
  index: number;
  term: number;
  config: ClusterConfig;
  /** Index of the configuration entry `config` came from (0 for the bootstrap configuration). */
  configIndex: number;
  data: Uint8Array;
}

/**
 * What the core reads from durable storage. Synchronous on purpose: the core is a pure state
 * machine. Entries not yet reported persisted (through advance()) are the core's own business.
 */
export interface RaftStorage {
  /** The state persisted last, and the configuration in force at the end of the log. */
  initialState(): { hardState: HardState; config: ClusterConfig; configIndex: number };
  /** First index held in the log (snapshot().index + 1). */
  firstIndex(): number;
  /** Last index held in the log (snapshot().index when the log is empty). */
  lastIndex(): number;
  /** Term of the entry at `index`; the snapshot's term for snapshot().index; throws CompactedError below. */
  term(index: number): number;
  /** Entries in [lo, hi), at least one if lo < hi, stopping before maxBytes of data; CompactedError if lo < firstIndex. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** The configuration in force at `index` (the latest config entry at or below it, else the snapshot's). */
  configAt(index: number): { config: ClusterConfig; configIndex: number };
  /** The current start of the log. */
  snapshot(): SnapshotMeta;
}

/** A seeded source of randomness (the only one the core may use). */
export interface Random {
  /** An integer in [0, n). */
  int(n: number): number;
}

interface MessageBase {
  from: NodeId;
  to: NodeId;
  term: number;
}

export interface AppendEntriesMessage extends MessageBase {
  type: 'AppendEntries';
  prevIndex: number;
  prevTerm: number;
  entries: Entry[];
  commit: number;
}

export interface AppendEntriesResponseMessage extends MessageBase {
  type: 'AppendEntriesResponse';
  /** False when the follower's log did not match at prevIndex. */
  success: boolean;
  /** On success, the last index now known to match the leader; on failure, the rejected prevIndex. */
  index: number;
  /** On failure: a hint for fast back-off (the follower's conflicting term and its first index, or its last index + 1). */
  conflictIndex: number;
  conflictTerm: number;
}

export interface RequestVoteMessage extends MessageBase {
  type: 'RequestVote';
  /** PreVote round: `term` is the term the candidate would use; nobody changes term or vote. */
  pre: boolean;
  lastIndex: number;
  lastTerm: number;
  /** The candidate campaigns because of TimeoutNow (leadership transfer): bypasses rule 12. */
  transfer: boolean;
}

export interface RequestVoteResponseMessage extends MessageBase {
  type: 'RequestVoteResponse';
  pre: boolean;
  granted: boolean;
}

export interface HeartbeatMessage extends MessageBase {
  type: 'Heartbeat';
  /** min(leader commit, follower match index) (rule 5). */
  commit: number;
  /** ReadIndex round this heartbeat confirms (0 when none). */
  readContext: number;
}

export interface HeartbeatResponseMessage extends MessageBase {
  type: 'HeartbeatResponse';
  readContext: number;
}

export interface InstallSnapshotMessage extends MessageBase {
  type: 'InstallSnapshot';
  snapshot: SnapshotMeta;
}

export interface TimeoutNowMessage extends MessageBase {
  type: 'TimeoutNow';
}

/** Everything cores send each other. Discriminated on `type`. */
export type Message =
  | AppendEntriesMessage
  | AppendEntriesResponseMessage
  | RequestVoteMessage
  | RequestVoteResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | InstallSnapshotMessage
  | TimeoutNowMessage;

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader' | 'learner';

/** Volatile state the driver may want to observe (not persisted). */
export interface SoftState {
  role: Role;
  leader: NodeId | null;
  term: number;
}

/** A confirmed ReadIndex: reads at or below `index` are linearizable once applied here. */
export interface ReadState {
  /** The caller's request context, as passed to readIndex(). */
  context: number;
  index: number;
}

/**
 * The work the driver must do, in this order:
 * 1. send `messages` (they may go out while 2 runs: they do not depend on this Ready's state);
 * 2. persist durably: if `snapshot`, install it (start metadata first, then reset the log to
 *    start after it); then append `entries` (if the first entry's index is at or below the last
 *    stored index, truncate the stored suffix from there first); then `hardState` if present;
 * 3. send `messagesAfterPersist` (votes, responses: they promise what step 2 made durable);
 * 4. make entries up to `commitIndex` visible to readers; resolve proposals by (index, term);
 * 5. call advance(this ready).
 */
export interface Ready {
  softState: SoftState;
  hardState: HardState | null;
  snapshot: SnapshotMeta | null;
  entries: Entry[];
  messages: Message[];
  messagesAfterPersist: Message[];
  /** The commit index as of this Ready (never above what is durable after step 2). */
  commitIndex: number;
  readStates: ReadState[];
}

/** Tunables; every limit has its unit last. */
export interface RaftOptions {
  id: NodeId;
  /** Ticks without hearing from a leader before campaigning (randomized in [n, 2n)). */
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Max AppendEntries in flight per follower in the replicate state. */
  maxInflightMsgs: number;
  /** Max bytes of entry data in flight per follower. */
  maxInflightBytes: number;
  /** Max entry data bytes in one AppendEntries. */
  maxMsgBytes: number;
  /** A learner is promoted only when it is within this many entries of the leader (used by the driver's policy). */
  promoteLagEntriesMax?: number;
  /**
   * A leadership transfer is refused when the target's match index is more than this many
   * entries behind the leader's last index, or when it needs a snapshot (default 1000).
   */
  transferLagEntriesMax?: number;
  /** Bound on ReadIndex requests waiting on the leader (default 4096). */
  maxPendingReads?: number;
}
