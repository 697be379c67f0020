/**
 * The in-memory twin of the UDP transport: a simulated datagram network on a ManualClock with
 * seeded loss, delay (hence reordering) and partitions. Same seed, same run.
 */
import type { ManualClock } from './manual-clock.js';
import type { GossipTransport, Random } from './types.js';

export interface SimNetworkOptions {
  /** Probability that a datagram is lost, in [0, 1). */
  lossRate?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
}

type Handler = (bytes: Uint8Array, from: string) => void;

export class SimNetwork {
  private readonly endpoints = new Map<string, SimTransport>();
  /** Partition group per address (default 0): datagrams cross only within a group. */
  private readonly groups = new Map<string, number>();
  lossRate: number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  delivered = 0;
  dropped = 0;
  /** Largest datagram ever sent (tests check the size limit with it). */
  largestDatagramBytes = 0;

  constructor(
    private readonly clock: ManualClock,
    private readonly random: Random,
    opts: SimNetworkOptions = {},
  ) {
    this.lossRate = opts.lossRate ?? 0;
    this.minDelayMs = opts.minDelayMs ?? 1;
    this.maxDelayMs = opts.maxDelayMs ?? 10;
  }

  /** A transport bound at `addr` (`host:port`); the address must be free. */
  bind(addr: string): SimTransport {
    if (this.endpoints.has(addr)) throw new Error(`address in use: ${addr}`);
    const t = new SimTransport(this, addr);
    this.endpoints.set(addr, t);
    return t;
  }

  /** Puts `addrs` in their own partition group (others stay where they were). */
  partition(addrs: readonly string[], group = 1): void {
    for (const a of addrs) this.groups.set(a, group);
  }

  heal(): void {
    this.groups.clear();
  }

  /** @internal */
  unbind(t: SimTransport): void {
    if (this.endpoints.get(t.addr) === t) this.endpoints.delete(t.addr);
  }

  /** @internal Schedules delivery of one datagram, unless it is lost or cut off. */
  route(from: string, to: string, bytes: Uint8Array): void {
    this.largestDatagramBytes = Math.max(this.largestDatagramBytes, bytes.byteLength);
    if ((this.groups.get(from) ?? 0) !== (this.groups.get(to) ?? 0) || this.random.int(1_000_000) < this.lossRate * 1_000_000) {
      this.dropped++;
      return;
    }
    const copy = Uint8Array.from(bytes);
    const delay = this.minDelayMs + this.random.int(this.maxDelayMs - this.minDelayMs + 1);
    this.clock.setTimer(() => {
      const dst = this.endpoints.get(to);
      if (!dst) return void this.dropped++;
      this.delivered++;
      dst.deliver(copy, from);
    }, delay);
  }
}

export class SimTransport implements GossipTransport {
  private handler: Handler | null = null;
  private closed = false;

  constructor(
    private readonly net: SimNetwork,
    readonly addr: string,
  ) {}

  localAddress(): string {
    return this.addr;
  }

  send(addr: string, bytes: Uint8Array): void {
    if (!this.closed) this.net.route(this.addr, addr, bytes);
  }

  onPacket(handler: Handler): void {
    this.handler = handler;
  }

  /** Hands raw bytes to the receiver as if `from` had sent them (for fuzzing). */
  deliver(bytes: Uint8Array, from: string): void {
    if (!this.closed) this.handler?.(bytes, from);
  }

  close(): Promise<void> {
    this.closed = true;
    this.net.unbind(this);
    return Promise.resolve();
  }
}
