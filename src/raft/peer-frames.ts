import type { ProducerSequenceProblem } from '../errors.js';
import type { ProducerRef } from '../replicated-log.js';
import type { Message, NodeId } from './core/types.js';

/**
 * Frames peers exchange besides Raft messages: a follower forwards a produce to the leader
 * (ARCHITECTURE 1: the follower authorized the caller itself) and gets the outcome back.
 */
export interface ForwardRequest {
  type: 'ForwardRequest';
  from: NodeId;
  to: NodeId;
  /** Unused (0): forwarded requests are not tied to a term. */
  term: number;
  /** Correlates the response; unique per sender connection lifetime. */
  id: number;
  values: Uint8Array[];
  /** An idempotent producer's request (absent: a plain produce). */
  producer?: ProducerRef;
}

/** How a forwarded produce failed, in terms the follower can turn back into a typed error. */
export type ForwardErrorKind = 'unavailable' | 'invalid-argument' | 'too-large' | 'disk-full' | 'internal' | 'producer-sequence';

export interface ForwardResponse {
  type: 'ForwardResponse';
  from: NodeId;
  to: NodeId;
  term: number;
  id: number;
  ok: boolean;
  /** On success: the user offset of the first value. */
  firstOffset: number;
  /** On failure. */
  errorKind: ForwardErrorKind;
  errorMessage: string;
  /** The leader as the answering node knows it (may be empty). */
  leader: NodeId;
  /** On success of an idempotent request: nothing was appended, `firstOffset` is the originals'. */
  duplicate?: boolean;
  /** With errorKind 'producer-sequence': the ProducerSequenceError's data. */
  producerError?: { problem: ProducerSequenceProblem; expected: number };
}

/**
 * A follower asks the leader for a read index (linearizable reads, rule 10): the leader confirms
 * its leadership with a heartbeat round and answers with its commit index at the time of the
 * request; the follower serves the read once its own commit index reaches it.
 */
export interface ReadIndexRequest {
  type: 'ReadIndexRequest';
  from: NodeId;
  to: NodeId;
  /** Unused (0). */
  term: number;
  /** Correlates the response; unique per sender process lifetime. */
  id: number;
}

export interface ReadIndexResponse {
  type: 'ReadIndexResponse';
  from: NodeId;
  to: NodeId;
  term: number;
  id: number;
  ok: boolean;
  /** On success: the Raft index the read must wait for. */
  index: number;
  /** On failure (always 'unavailable': no leadership to confirm, quorum lost, overloaded). */
  errorMessage: string;
  /** The leader as the answering node knows it (may be empty). */
  leader: NodeId;
}

/** Everything that travels on a peer connection. */
export type PeerFrame = Message | ForwardRequest | ForwardResponse | ReadIndexRequest | ReadIndexResponse;

export function isRaftMessage(f: PeerFrame): f is Message {
  return f.type !== 'ForwardRequest' && f.type !== 'ForwardResponse' && f.type !== 'ReadIndexRequest' && f.type !== 'ReadIndexResponse';
}
