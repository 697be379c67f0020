// The public surface of the membership layer (see docs/membership.md).
export { Membership, type JoinOptions } from './membership.js';
export {
  DEFAULT_LIMITS,
  DEFAULT_TIMINGS,
  type MembershipLimits,
  type MembershipOptions,
  type MembershipTimings,
} from './config.js';
export { parseGossipKey } from './envelope.js';
export { UdpTransport, type UdpTransportOptions } from './udp-transport.js';
export { SystemClock } from './system-clock.js';
export { ManualClock } from './manual-clock.js';
export { SimNetwork, SimTransport, type SimNetworkOptions } from './sim-network.js';
export { dnsResolver } from './dns-resolver.js';
export type {
  Clock,
  GossipTransport,
  HostResolver,
  Member,
  MemberState,
  MembershipEvent,
  MembershipStats,
  Random,
  Tags,
  TimerHandle,
} from './types.js';
