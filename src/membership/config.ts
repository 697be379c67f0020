/**
 * Options of a Membership, their defaults (LAN values close to memberlist's) and validation.
 */
import { splitHostPort as parseHostPort } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Clock, GossipTransport, HostResolver, Random, Tags } from './types.js';

export interface MembershipTimings {
  /** One protocol period: one member probed per period. */
  probeIntervalMs: number;
  /** Wait for a direct ack before asking others to probe (ping-req). */
  probeTimeoutMs: number;
  /** Members asked to probe indirectly (k in the paper). */
  indirectChecks: number;
  /** Suspicion timeout = suspicionMult * max(1, log10(n)) * probeIntervalMs, when confirmed. */
  suspicionMult: number;
  /** An unconfirmed suspicion lasts up to this multiple of the minimum. */
  suspicionMaxTimeoutMult: number;
  /** Each update is piggybacked retransmitMult * ceil(log10(n + 1)) times. */
  retransmitMult: number;
  /** Pending updates are also pushed to gossipFanout random members this often. */
  gossipIntervalMs: number;
  gossipFanout: number;
  /** Full-state sync with one random member (0 disables the periodic sync). */
  pushPullIntervalMs: number;
  /** Dead and left members are forgotten after this long (until then they are synced with, so partitions heal). */
  deadReapMs: number;
  joinRetryInitialMs: number;
  joinRetryMaxMs: number;
}

export interface MembershipLimits {
  /** Every datagram sent stays at or below this size, encryption included. */
  maxPacketBytes: number;
  maxMembers: number;
  /** Encoded size of the tags (keys and values with their length bytes). */
  maxTagsBytes: number;
  /** Per events() iterator; the oldest event is dropped beyond it. */
  maxQueuedEvents: number;
  maxPendingBroadcasts: number;
  maxPendingAcks: number;
  /** Lifeguard: timeouts are scaled by (1 + localHealth), localHealth in [0, max]. */
  maxLocalHealth: number;
}

export interface MembershipOptions {
  /** Unique in the cluster. */
  name: string;
  transport: GossipTransport;
  /** `host:port` announced to others; default: transport.localAddress(). */
  advertiseAddr?: string;
  tags?: Tags;
  /** 32 bytes, or their base64: enables AES-256-GCM on every packet. */
  gossipKey?: Uint8Array | string;
  clock?: Clock;
  random?: Random;
  resolver?: HostResolver;
  logger?: Logger;
  timings?: Partial<MembershipTimings>;
  limits?: Partial<MembershipLimits>;
}

export const DEFAULT_TIMINGS: MembershipTimings = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipFanout: 3,
  pushPullIntervalMs: 30_000,
  deadReapMs: 3_600_000,
  joinRetryInitialMs: 500,
  joinRetryMaxMs: 30_000,
};

export const DEFAULT_LIMITS: MembershipLimits = {
  maxPacketBytes: 1400,
  maxMembers: 4096,
  maxTagsBytes: 512,
  maxQueuedEvents: 1024,
  maxPendingBroadcasts: 4096,
  maxPendingAcks: 1024,
  maxLocalHealth: 8,
};

/** Smallest packet that still holds one full member record with maximal tags. */
const MIN_PACKET_BYTES = 1350;

export function resolveTimings(t: Partial<MembershipTimings> = {}): MembershipTimings {
  const out = { ...DEFAULT_TIMINGS, ...t };
  for (const [k, v] of Object.entries(out)) {
    const min = k === 'pushPullIntervalMs' ? 0 : 1;
    if (!Number.isFinite(v) || v < min) throw new ConfigError(k, `must be a number >= ${min}, got ${v}`);
  }
  if (out.probeTimeoutMs >= out.probeIntervalMs) {
    throw new ConfigError('probeTimeoutMs', 'must be below probeIntervalMs (the indirect probe needs the rest of the period)');
  }
  return out;
}

export function resolveLimits(l: Partial<MembershipLimits> = {}): MembershipLimits {
  const out = { ...DEFAULT_LIMITS, ...l };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isInteger(v) || v < 0) throw new ConfigError(k, `must be a non-negative integer, got ${v}`);
  }
  if (out.maxPacketBytes < MIN_PACKET_BYTES || out.maxPacketBytes > 65_000) {
    throw new ConfigError('maxPacketBytes', `must be in [${MIN_PACKET_BYTES}, 65000]`);
  }
  return out;
}

/** Encoded size of a tag map, as codec.ts writes it; throws ConfigError above the limit. */
export function checkTags(tags: Tags, maxTagsBytes: number): void {
  let bytes = 1;
  for (const [k, v] of Object.entries(tags)) {
    const kb = Buffer.byteLength(k);
    const vb = Buffer.byteLength(v);
    if (kb === 0 || kb > 255 || vb > 255) throw new ConfigError('tags', `tag ${k.slice(0, 40)}: keys 1..255 bytes, values up to 255`);
    bytes += 2 + kb + vb;
  }
  if (bytes > maxTagsBytes) throw new ConfigError('tags', `encode to ${bytes} bytes, over the limit of ${maxTagsBytes}`);
}

/** Splits `host:port` (src/config.ts's parser). Throws ConfigError naming `option` when it is not one. */
export function splitHostPort(addr: string, option = 'address'): { host: string; port: number } {
  const hp = parseHostPort(addr);
  if (!hp) throw new ConfigError(option, `expected host:port, got "${addr}"`);
  return hp;
}
