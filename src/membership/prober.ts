/**
 * SWIM failure detection. Once per protocol period the next member of a shuffled round-robin is
 * pinged; without an ack within the probe timeout, k other members are asked to ping it
 * (ping-req) and relay the ack; without any ack by the end of the period, it is suspected.
 * Lifeguard's local health multiplier scales both timeouts while this node itself looks slow
 * (its probes fail, or it has to refute suspicions of itself).
 */
import type { Logger } from '../logger.js';
import type { MembershipLimits, MembershipTimings } from './config.js';
import type { MemberEntry, MemberTable } from './member-table.js';
import type { AckMsg, GossipMessage, PingMsg, PingReqMsg } from './messages.js';
import type { StateMachine } from './state-machine.js';
import type { Clock, MembershipStats, Random, TimerHandle } from './types.js';

export type SendFn = (addr: string, msgs: GossipMessage[]) => void;

interface AckWaiter {
  onAck: () => void;
  timer: TimerHandle;
}

interface Probe {
  target: string;
  incarnation: number;
  acked: boolean;
}

export class Prober {
  private order: string[] = [];
  private nextSeq = 1;
  private readonly waiters = new Map<number, AckWaiter>();
  private current: Probe | null = null;
  private timer: TimerHandle | null = null;
  private indirectTimer: TimerHandle | null = null;
  private localHealth = 0;

  constructor(
    private readonly table: MemberTable,
    private readonly state: StateMachine,
    private readonly send: SendFn,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly timings: MembershipTimings,
    private readonly limits: MembershipLimits,
    private readonly stats: MembershipStats,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (!this.timer) this.schedule();
  }

  stop(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
    if (this.indirectTimer) this.clock.clearTimer(this.indirectTimer);
    this.indirectTimer = null;
    for (const w of this.waiters.values()) this.clock.clearTimer(w.timer);
    this.waiters.clear();
    this.current = null;
  }

  get health(): number {
    return this.localHealth;
  }

  /** Lifeguard: +1 on a sign of local trouble, -1 on a sign of health, clamped. */
  adjustHealth(delta: number): void {
    this.localHealth = Math.min(this.limits.maxLocalHealth, Math.max(0, this.localHealth + delta));
    this.stats.localHealth = this.localHealth;
  }

  onPing(msg: PingMsg, fromAddr: string): void {
    if (msg.target !== this.table.local.name) return; // another node now lives at this address
    this.send(fromAddr, [{ type: 'ack', seq: msg.seq, from: this.table.local.name }]);
  }

  onPingReq(msg: PingReqMsg, fromAddr: string): void {
    const local = this.table.local.name;
    const relay = (): void => this.send(fromAddr, [{ type: 'ack', seq: msg.seq, from: local }]);
    const seq = this.expectAck(relay, this.timings.probeTimeoutMs);
    if (seq !== null) this.send(msg.targetAddr, [{ type: 'ping', seq, target: msg.target, from: local }]);
  }

  onAck(msg: AckMsg): void {
    const w = this.waiters.get(msg.seq);
    if (!w) return;
    this.waiters.delete(msg.seq);
    this.clock.clearTimer(w.timer);
    w.onAck();
  }

  private scaled(ms: number): number {
    return ms * (1 + this.localHealth);
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(() => this.tick(), this.scaled(this.timings.probeIntervalMs));
  }

  private tick(): void {
    this.finishProbe();
    const target = this.nextTarget();
    if (target) this.probe(target);
    this.schedule();
  }

  /** Closes the previous period: a probe without any ack makes its target suspect. */
  private finishProbe(): void {
    const p = this.current;
    this.current = null;
    if (!p) return;
    if (p.acked) return this.adjustHealth(-1);
    this.stats.probesFailed++;
    this.adjustHealth(1);
    const m = this.table.get(p.target);
    if (m?.state !== 'alive' || m.incarnation !== p.incarnation) return;
    this.log.debug({ member: m.name }, 'probe failed: suspecting member');
    this.state.apply({ type: 'suspect', name: m.name, incarnation: m.incarnation, from: this.table.local.name });
  }

  /** The next live member of the round-robin, reshuffled after each full pass. */
  private nextTarget(): MemberEntry | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.order.length > 0) {
        const name = this.order.pop() ?? '';
        const m = this.table.get(name);
        if (m && !this.table.isLocal(m) && (m.state === 'alive' || m.state === 'suspect')) return m;
      }
      this.order = shuffle(this.table.live().map((e) => e.name), this.random);
    }
    return undefined;
  }

  private probe(target: MemberEntry): void {
    const probe: Probe = { target: target.name, incarnation: target.incarnation, acked: false };
    this.current = probe;
    const seq = this.expectAck(() => (probe.acked = true), this.scaled(this.timings.probeIntervalMs));
    if (seq === null) return;
    this.stats.probes++;
    const local = this.table.local.name;
    const msgs: GossipMessage[] = [];
    // A suspect learns of the suspicion from its probers too, so it can refute even when the
    // gossip about it was lost (e.g. sent while it was cut off). The suspicion goes first: the
    // refutation is then queued before the ack that piggybacks it is built.
    if (target.state === 'suspect') msgs.push({ type: 'suspect', name: target.name, incarnation: target.incarnation, from: local });
    msgs.push({ type: 'ping', seq, target: target.name, from: local });
    this.send(target.addr, msgs);
    if (this.indirectTimer) this.clock.clearTimer(this.indirectTimer);
    this.indirectTimer = this.clock.setTimer(() => {
      this.indirectTimer = null;
      if (!probe.acked && this.current === probe) this.indirect(target, seq);
    }, this.scaled(this.timings.probeTimeoutMs));
  }

  private indirect(target: MemberEntry, seq: number): void {
    const helpers = shuffle(
      this.table.live().filter((m) => m.name !== target.name && m.state === 'alive'),
      this.random,
    ).slice(0, this.timings.indirectChecks);
    const local = this.table.local.name;
    for (const h of helpers) {
      this.send(h.addr, [{ type: 'ping-req', seq, target: target.name, targetAddr: target.addr, from: local }]);
    }
  }

  /** Registers an ack callback for a fresh sequence number; null when too many are pending. */
  private expectAck(onAck: () => void, timeoutMs: number): number | null {
    if (this.waiters.size >= this.limits.maxPendingAcks) {
      this.log.warn({ maxPendingAcks: this.limits.maxPendingAcks }, 'too many pending acks: probe skipped');
      return null;
    }
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq % 0xffffffff) + 1;
    const timer = this.clock.setTimer(() => this.waiters.delete(seq), timeoutMs);
    this.waiters.set(seq, { onAck, timer });
    return seq;
  }
}

/** Fisher-Yates with the injected generator. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}
