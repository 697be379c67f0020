/**
 * Gossip messages, as a discriminated union on `type`. A packet carries one or more of them
 * (the first is the "primary" one; the rest are piggybacked updates). See docs/membership.md.
 */
import type { MemberState, Tags } from './types.js';

/** Direct probe. `target` guards against a different node now living at the address. */
export interface PingMsg {
  type: 'ping';
  seq: number;
  target: string;
  from: string;
}

export interface AckMsg {
  type: 'ack';
  seq: number;
  from: string;
}

/** Asks the receiver to probe `target` at `targetAddr` and relay the ack under `seq`. */
export interface PingReqMsg {
  type: 'ping-req';
  seq: number;
  target: string;
  targetAddr: string;
  from: string;
}

export interface AliveMsg {
  type: 'alive';
  name: string;
  addr: string;
  incarnation: number;
  tags: Tags;
}

export interface SuspectMsg {
  type: 'suspect';
  name: string;
  incarnation: number;
  from: string;
}

export interface DeadMsg {
  type: 'dead';
  name: string;
  incarnation: number;
  from: string;
}

/** A graceful departure announced by the member itself. */
export interface LeftMsg {
  type: 'left';
  name: string;
  incarnation: number;
}

/** One member as a full-state sync carries it. */
export interface MemberRecord {
  name: string;
  addr: string;
  incarnation: number;
  state: MemberState;
  tags: Tags;
}

/**
 * Push-pull: one chunk of the sender's full member table. `replyWanted` asks the receiver to
 * answer with its own table (join and the periodic sync); the answer sets it to false.
 */
export interface SyncMsg {
  type: 'sync';
  from: string;
  replyWanted: boolean;
  members: MemberRecord[];
}

export type GossipMessage = PingMsg | AckMsg | PingReqMsg | AliveMsg | SuspectMsg | DeadMsg | LeftMsg | SyncMsg;

/** Messages that spread by piggybacking (state updates). */
export type UpdateMessage = AliveMsg | SuspectMsg | DeadMsg | LeftMsg;
