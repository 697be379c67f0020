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
}

/** How a forwarded produce failed, in terms the follower can turn back into a typed error. */
export type ForwardErrorKind = 'unavailable' | 'invalid-argument' | 'too-large' | 'disk-full' | 'internal';

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
}

/** Everything that travels on a peer connection. */
export type PeerFrame = Message | ForwardRequest | ForwardResponse;

export function isRaftMessage(f: PeerFrame): f is Message {
  return f.type !== 'ForwardRequest' && f.type !== 'ForwardResponse';
}
