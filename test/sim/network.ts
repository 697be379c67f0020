import type { Message, NodeId } from '../../src/raft/core/types.js';
import type { Prng } from '../../src/util/prng.js';
import { EventQueue } from './event-queue.js';

/** How badly the simulated network behaves; changed by the nemesis while a run goes on. */
export interface NetworkFaults {
  /** Probability that a message is lost. */
  lossRate: number;
  /** Probability that a message is delivered twice (each copy with its own delay). */
  dupRate: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Probability of a long delay (this reorders messages well past their neighbours). */
  spikeRate: number;
  spikeDelayMs: number;
}

export const CALM_NETWORK: NetworkFaults = {
  lossRate: 0,
  dupRate: 0,
  minDelayMs: 1,
  maxDelayMs: 5,
  spikeRate: 0,
  spikeDelayMs: 0,
};

interface InFlight {
  atMs: number;
  msg: Message;
}

export type DeliveryOutcome =
  | { kind: 'deliver'; msg: Message }
  | { kind: 'drop'; msg: Message; reason: 'partition' };

/** The node name of an identity: `n1/5f3a` -> `n1` (partitions cut names, not identities). */
export function nameOf(id: NodeId): string {
  const slash = id.indexOf('/');
  return slash < 0 ? id : id.slice(0, slash);
}

/**
 * A simulated network between named nodes: every message gets its own delay (so messages
 * reorder), may be lost or duplicated, and is dropped on delivery when its directed link is cut.
 * Messages are copied on send, as a real network would, so no core can alias another's objects.
 */
export class SimNetwork {
  private readonly inflight: EventQueue<InFlight>;
  /** Cut directed links, as `from>to` of node names. */
  private readonly cut = new Set<string>();
  faults: NetworkFaults;
  readonly stats = { sent: 0, lost: 0, duplicated: 0, overflow: 0, cut: 0, delivered: 0 };

  constructor(
    private readonly prng: Prng,
    faults: NetworkFaults,
    maxInflightMsgs: number,
  ) {
    this.faults = faults;
    this.inflight = new EventQueue<InFlight>(maxInflightMsgs);
  }

  /** Queues `msg` for delivery; returns how many copies are on their way (0, 1 or 2). */
  send(msg: Message, nowMs: number): number {
    this.stats.sent++;
    if (this.prng.chance(this.faults.lossRate)) {
      this.stats.lost++;
      return 0;
    }
    const copies = this.prng.chance(this.faults.dupRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    let queued = 0;
    for (let i = 0; i < copies; i++) {
      if (this.inflight.tryPush({ atMs: nowMs + this.delayMs(), msg: copyMessage(msg) })) queued++;
      else this.stats.overflow++;
    }
    return queued;
  }

  /** Due time of the next message in flight (Infinity when none). */
  peekTimeMs(): number {
    return this.inflight.peekTimeMs();
  }

  /** The next message due at or before `nowMs`, or null. */
  popDue(nowMs: number): DeliveryOutcome | null {
    const next = this.inflight.popDue(nowMs);
    if (next === null) return null;
    if (this.isCut(nameOf(next.msg.from), nameOf(next.msg.to))) {
      this.stats.cut++;
      return { kind: 'drop', msg: next.msg, reason: 'partition' };
    }
    this.stats.delivered++;
    return { kind: 'deliver', msg: next.msg };
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Cuts the directed link from -> to (a one-way partition). */
  cutLink(from: string, to: string): void {
    if (from !== to) this.cut.add(`${from}>${to}`);
  }

  /** Cuts every link between the two groups in both directions, or only a -> b when oneWay. */
  partition(a: readonly string[], b: readonly string[], oneWay = false): void {
    for (const x of a) {
      for (const y of b) {
        this.cutLink(x, y);
        if (!oneWay) this.cutLink(y, x);
      }
    }
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear();
  }

  isCut(from: string, to: string): boolean {
    return this.cut.size > 0 && this.cut.has(`${from}>${to}`);
  }

  get cutLinks(): number {
    return this.cut.size;
  }

  private delayMs(): number {
    const f = this.faults;
    const base = f.minDelayMs + this.prng.int(f.maxDelayMs - f.minDelayMs + 1);
    return this.prng.chance(f.spikeRate) ? base + this.prng.int(f.spikeDelayMs + 1) : base;
  }
}

/** A copy as deep as the wire would make it (entry payloads are immutable and shared). */
function copyMessage(m: Message): Message {
  switch (m.type) {
    case 'AppendEntries':
      return { ...m, entries: m.entries.map((e) => ({ ...e })) };
    case 'InstallSnapshot': {
      const s = m.snapshot;
      const config = { voters: [...s.config.voters], learners: [...s.config.learners] };
      return { ...m, snapshot: { ...s, config } };
    }
    default:
      return { ...m };
  }
}
