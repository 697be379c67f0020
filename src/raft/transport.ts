import type { NodeId } from './core/types.js';
import type { PeerFrame } from './peer-frames.js';

/** Receives every message that arrives for this node. */
export type MessageHandler = (msg: PeerFrame) => void;

/**
 * How Raft messages travel between nodes. Delivery is best effort (Raft tolerates loss,
 * duplication and reordering across connections), so `send` never blocks and never throws:
 * a message for an unreachable peer or a full queue is dropped and counted.
 */
export interface RaftTransport {
  /** Queues `msg` for `msg.to`. */
  send(msg: PeerFrame): void;
  /** Registers the one handler for incoming messages. */
  onMessage(handler: MessageHandler): void;
  /** Drops the connection to a peer (e.g. after it left the configuration). */
  disconnect(peer: NodeId): void;
  close(): Promise<void>;
}
