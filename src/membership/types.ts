/**
 * The contract of the SWIM membership layer: what a member is, the events it emits, and the
 * boundaries it is written against (transport, clock, randomness, name resolution). Each
 * boundary has an in-memory twin (`SimNetwork`, `ManualClock`, a seeded `Prng`) for tests.
 */

/** A small string map carried with every alive message (e.g. `{ name, rpcAddr }`). */
export type Tags = Readonly<Record<string, string>>;

/**
 * alive: answering probes. suspect: missed a probe, may still refute. dead: declared failed
 * after the suspicion timeout. left: announced a graceful leave (never "failed").
 */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

export interface Member {
  /** Unique in a cluster: the member's identity. */
  readonly name: string;
  /** `host:port` of its gossip (UDP) endpoint. */
  readonly addr: string;
  readonly tags: Tags;
  /** Raised only by the member itself, to refute a suspicion or to publish new tags. */
  readonly incarnation: number;
  readonly state: MemberState;
}

/**
 * join: became alive (newly known, or back from dead/left). update: tags or address changed.
 * leave: announced a graceful leave. fail: declared dead.
 */
export interface MembershipEvent {
  readonly type: 'join' | 'update' | 'leave' | 'fail';
  readonly member: Member;
}

/** Plain counters; the agent exports them to Prometheus. */
export interface MembershipStats {
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Packets that could not be decoded (bad framing, bad fields, unknown version). */
  droppedMalformed: number;
  /** Packets above the size limit (either way: received, or refused before sending). */
  droppedOversize: number;
  /** Packets that failed authentication/decryption, or arrived in clear with a key set. */
  droppedDecrypt: number;
  /** Probes sent, and probes that got no ack (direct or indirect) in their period. */
  probes: number;
  probesFailed: number;
  /** Members this node started to suspect (from its own probes or from gossip). */
  suspicions: number;
  /** Times this node refuted a suspicion/death of itself by raising its incarnation. */
  refutations: number;
  /** Events dropped from a full subscriber queue (re-read `members()` to recover). */
  eventsDropped: number;
  /** Lifeguard local health multiplier (0 = healthy). */
  localHealth: number;
}

/** Datagram transport: fire-and-forget, unordered, lossy. */
export interface GossipTransport {
  /** `host:port` others reach this node at (after bind). */
  localAddress(): string;
  /** Sends one datagram; failures are the transport's to count, never thrown. */
  send(addr: string, bytes: Uint8Array): void;
  /** Registers the single receiver of datagrams. */
  onPacket(handler: (bytes: Uint8Array, from: string) => void): void;
  close(): Promise<void>;
}

export type TimerHandle = { readonly id: number };

/** Milliseconds and one-shot timers; the real one unref()s its timers. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** A seeded source of randomness (`Prng` from src/util/prng.ts satisfies it). */
export interface Random {
  /** An integer in [0, n). */
  int(n: number): number;
}

/** Resolves a host name to IPv4 addresses; rejects or returns [] when it does not resolve (yet). */
export type HostResolver = (host: string) => Promise<string[]>;
