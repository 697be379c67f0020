/**
 * A node's view of the cluster through SWIM gossip: the API the agent uses.
 *
 *   const m = new Membership({ name, transport, tags });
 *   m.start();
 *   await m.join(['10.0.0.1:7946'], { signal });   // retried until some seed answers
 *   for await (const ev of m.events()) ...         // join / update / leave / fail
 *   await m.leave(2000); await m.close();           // a graceful departure
 *
 * close() alone is a silent stop (a restart, ARCHITECTURE rule 13): others will suspect, then
 * fail the member. The Membership owns the transport it is given and closes it.
 * No events are emitted about the local member.
 */
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { ClosedError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { Prng } from '../util/prng.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { checkTags, resolveLimits, resolveTimings, splitHostPort, type MembershipLimits, type MembershipOptions, type MembershipTimings } from './config.js';
import { dnsResolver } from './dns-resolver.js';
import { Envelope } from './envelope.js';
import { EventStream } from './event-stream.js';
import { MemberTable, snapshot, toRecord } from './member-table.js';
import type { GossipMessage, SyncMsg } from './messages.js';
import { PacketIO } from './packet-io.js';
import { Prober, shuffle } from './prober.js';
import { StateMachine } from './state-machine.js';
import type { Clock, GossipTransport, HostResolver, Member, MembershipEvent, MembershipStats, Random, Tags, TimerHandle } from './types.js';
import { SystemClock } from './system-clock.js';

export interface JoinOptions {
  /** Stops retrying: join() rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Direct sends of a leave notice, besides gossip. */
const LEAVE_DIRECT_SENDS_MAX = 64;

function emptyStats(): MembershipStats {
  return {
    packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, droppedMalformed: 0, droppedOversize: 0, droppedDecrypt: 0,
    probes: 0, probesFailed: 0, suspicions: 0, refutations: 0, eventsDropped: 0, localHealth: 0,
  };
}

export class Membership {
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly resolver: HostResolver;
  private readonly transport: GossipTransport;
  private readonly timings: MembershipTimings;
  private readonly limits: MembershipLimits;
  private readonly counters = emptyStats();
  private readonly table: MemberTable;
  private readonly state: StateMachine;
  private readonly broadcasts: BroadcastQueue;
  private readonly io: PacketIO;
  private readonly prober: Prober;
  private readonly stream: EventStream;
  private readonly timers = new Set<TimerHandle>();
  private readonly syncWaiters = new Set<() => void>();
  private readonly sleepers = new Set<() => void>();
  private started = false;
  private lastStrangerSyncMs = -Infinity;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(opts: MembershipOptions) {
    this.timings = resolveTimings(opts.timings);
    this.limits = resolveLimits(opts.limits);
    const tags = { ...(opts.tags ?? {}) };
    checkTags(tags, this.limits.maxTagsBytes);
    this.log = (opts.logger ?? silentLogger()).child({ component: 'membership', node: opts.name });
    this.clock = opts.clock ?? new SystemClock();
    this.random = opts.random ?? new Prng(randomInt(0x1_0000_0000));
    this.resolver = opts.resolver ?? dnsResolver;
    this.transport = opts.transport;
    const addr = opts.advertiseAddr ?? opts.transport.localAddress();
    splitHostPort(addr, 'advertise-addr');
    this.table = new MemberTable({ name: opts.name, addr, tags, incarnation: 0, state: 'alive', stateChangeMs: this.clock.now() });
    this.broadcasts = new BroadcastQueue(this.timings.retransmitMult, this.limits.maxPendingBroadcasts);
    this.stream = new EventStream(this.limits.maxQueuedEvents);
    this.state = new StateMachine(this.table, this.clock, { ...this.timings, maxMembers: this.limits.maxMembers }, {
      broadcast: (m) => this.broadcasts.enqueue(m),
      pendingLocal: () => this.broadcasts.pending(opts.name),
      emit: (e) => this.emit(e),
      refuted: () => {
        this.counters.refutations++;
        this.prober.adjustHealth(1);
      },
      suspected: () => this.counters.suspicions++,
    }, this.log);
    const envelope = new Envelope(opts.gossipKey);
    this.io = new PacketIO(this.transport, envelope, this.limits.maxPacketBytes, this.broadcasts, () => this.table.estimatedSize(), this.counters, this.log);
    const send = (a: string, msgs: GossipMessage[]): void => this.io.send(a, msgs);
    this.prober = new Prober(this.table, this.state, send, this.clock, this.random, this.timings, this.limits, this.counters, this.log);
  }

  /** Starts receiving and probing. Idempotent; join() calls it too. */
  start(): void {
    this.ensureOpen();
    if (this.started) return;
    this.started = true;
    this.transport.onPacket((bytes, from) => this.onPacket(bytes, from));
    this.prober.start();
    this.every(this.timings.gossipIntervalMs, () => this.gossip());
    if (this.timings.pushPullIntervalMs > 0) this.every(this.timings.pushPullIntervalMs, () => this.pushPull());
    this.log.info({ addr: this.table.local.addr }, 'membership started');
  }

  /**
   * Joins the cluster through any of `seeds` (`host:port`, names resolved on every attempt),
   * retrying with exponential backoff until one answers with its member list. Resolves at once
   * when every seed is this node itself (the first node of a cluster).
   */
  async join(seeds: readonly string[], opts: JoinOptions = {}): Promise<void> {
    const parsed = seeds.map((s) => splitHostPort(s, 'start-join-addrs'));
    this.start();
    let delayMs = this.timings.joinRetryInitialMs;
    for (let attempt = 1; ; attempt++) {
      opts.signal?.throwIfAborted();
      const { addrs, unresolved } = await this.resolveSeeds(parsed);
      this.ensureOpen();
      opts.signal?.throwIfAborted();
      const targets = addrs.filter((a) => a !== this.table.local.addr);
      if (unresolved === 0 && targets.length === 0) return;
      const answered = this.waitForSync(delayMs, opts.signal);
      for (const t of targets) this.sendSync(t, true);
      if (await answered) {
        this.log.info({ attempt, members: this.table.size }, 'joined the cluster');
        return;
      }
      this.log.info({ attempt, seeds, unresolved, retryInMs: delayMs }, 'join: no seed answered yet');
      delayMs = Math.min(delayMs * 2, this.timings.joinRetryMaxMs);
    }
  }

  /**
   * Announces a graceful leave and waits (at most timeoutMs) until the notice has been gossiped
   * its full retransmit count. Probing stops; call close() afterwards.
   */
  async leave(timeoutMs: number): Promise<void> {
    if (this.closed || this.state.leaving) return;
    this.state.leaving = true;
    const local = this.table.local;
    Object.assign(local, { state: 'left', stateChangeMs: this.clock.now() });
    const notice = { type: 'left', name: local.name, incarnation: local.incarnation } as const;
    this.broadcasts.enqueue(notice);
    const live = this.table.live();
    for (const m of live.slice(0, LEAVE_DIRECT_SENDS_MAX)) this.io.send(m.addr, [notice], false);
    this.prober.stop();
    this.log.info({ incarnation: local.incarnation }, 'leaving the cluster');
    if (live.length === 0) return;
    const deadline = this.clock.now() + timeoutMs;
    while (this.broadcasts.pending(local.name) && this.clock.now() < deadline && !this.closed) {
      await this.delay(Math.min(this.timings.gossipIntervalMs, deadline - this.clock.now()));
    }
  }

  /** Stops everything and closes the transport. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  /** A snapshot of every known member (the local one included), sorted by name. */
  members(): Member[] {
    return this.table.all().map(snapshot).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  localMember(): Member {
    return snapshot(this.table.local);
  }

  /** Publishes new tags under a new incarnation (ignored after leave()). Throws ConfigError when too big. */
  setTags(tags: Tags): void {
    this.ensureOpen();
    if (this.state.leaving) return;
    checkTags(tags, this.limits.maxTagsBytes);
    const local = this.table.local;
    local.tags = { ...tags };
    local.incarnation++;
    this.broadcasts.enqueue(this.state.localAlive());
  }

  /** Events from now on, until close(); each iterator has its own bounded queue. */
  events(): AsyncIterable<MembershipEvent> {
    return this.stream.events();
  }

  /** Calls `listener` synchronously for each event; returns the unsubscribe function. */
  on(listener: (event: MembershipEvent) => void): () => void {
    return this.stream.on(listener);
  }

  stats(): MembershipStats {
    return { ...this.counters, eventsDropped: this.stream.dropped, localHealth: this.prober.health };
  }

  private emit(event: MembershipEvent): void {
    this.log.info({ event: event.type, member: event.member.name, addr: event.member.addr }, 'member event');
    this.stream.emit(event);
  }

  private onPacket(bytes: Uint8Array, from: string): void {
    if (this.closed) return;
    const msgs = this.io.receive(bytes);
    if (!msgs) return;
    try {
      for (const m of msgs) this.handle(m, from);
    } catch (err) {
      this.counters.droppedMalformed++;
      this.log.error({ err, from }, 'gossip packet handling failed');
    }
  }

  private handle(m: GossipMessage, from: string): void {
    switch (m.type) {
      case 'ping':
        this.prober.onPing(m, from);
        return this.syncWithStranger(m.from, from);
      case 'ping-req':
        return this.prober.onPingReq(m, from);
      case 'ack':
        return this.prober.onAck(m);
      case 'sync':
        return this.onSync(m, from);
      default:
        return this.state.apply(m);
    }
  }

  private onSync(m: SyncMsg, from: string): void {
    for (const r of m.members) this.state.merge(r, m.from);
    if (m.replyWanted) this.sendSync(from, false);
    else for (const wake of this.syncWaiters) wake();
  }

  /**
   * A member we do not know probes us: we missed the gossip about it (joins under loss), so
   * exchange full state with it now. At most once per probe interval.
   */
  private syncWithStranger(name: string, addr: string): void {
    if (this.table.get(name) || this.state.leaving) return;
    const now = this.clock.now();
    if (now - this.lastStrangerSyncMs < this.timings.probeIntervalMs) return;
    this.lastStrangerSyncMs = now;
    this.sendSync(addr, true);
  }

  private sendSync(addr: string, replyWanted: boolean): void {
    this.io.sendSync(addr, this.table.local.name, replyWanted, this.table.all().map(toRecord));
  }

  /** Pushes pending updates to a few random members, and forgets long-dead ones. */
  private gossip(): void {
    this.state.reap(this.timings.deadReapMs);
    if (this.broadcasts.size === 0) return;
    const targets = shuffle(this.table.live(), this.random).slice(0, this.timings.gossipFanout);
    for (const t of targets) this.io.send(t.addr, []);
  }

  /** Full-state sync with one random member; dead ones included, so that partitions heal. */
  private pushPull(): void {
    if (this.state.leaving) return;
    const candidates = this.table.all().filter((e) => !this.table.isLocal(e) && e.state !== 'left');
    if (candidates.length > 0) this.sendSync(candidates[this.random.int(candidates.length)]!.addr, true);
  }

  private async resolveSeeds(seeds: { host: string; port: number }[]): Promise<{ addrs: string[]; unresolved: number }> {
    const addrs = new Set<string>();
    let unresolved = 0;
    for (const { host, port } of seeds) {
      const ips = isIP(host) ? [host] : await this.resolver(host).catch((err: unknown) => {
        this.log.debug({ host, err }, 'seed does not resolve (yet)');
        return [];
      });
      if (ips.length === 0) unresolved++;
      for (const ip of ips) addrs.add(`${ip}:${port}`);
    }
    return { addrs: [...addrs], unresolved };
  }

  /** True when a sync answer arrives within delayMs; rejects on abort or close. */
  private waitForSync(delayMs: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const finish = (result: boolean | Error): void => {
        this.clock.clearTimer(timer);
        this.timers.delete(timer);
        this.syncWaiters.delete(onSync);
        signal?.removeEventListener('abort', onAbort);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const onSync = (): void => finish(this.closed ? new ClosedError('membership') : true);
      const onAbort = (): void => finish(signal?.reason instanceof Error ? signal.reason : new Error('join aborted'));
      const timer = this.clock.setTimer(() => finish(this.closed ? new ClosedError('membership') : false), delayMs);
      this.timers.add(timer);
      this.syncWaiters.add(onSync);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Waits ms on the clock; close() ends the wait early. */
  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.clock.clearTimer(timer);
        this.timers.delete(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = this.clock.setTimer(done, ms);
      this.timers.add(timer);
      this.sleepers.add(done);
    });
  }

  private every(intervalMs: number, fn: () => void): void {
    const tick = (): void => {
      this.timers.delete(timer);
      if (this.closed) return;
      fn();
      timer = this.clock.setTimer(tick, intervalMs);
      this.timers.add(timer);
    };
    let timer = this.clock.setTimer(tick, intervalMs);
    this.timers.add(timer);
  }

  private ensureOpen(): void {
    if (this.closed) throw new ClosedError('membership');
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) this.clock.clearTimer(t);
    this.timers.clear();
    for (const wake of [...this.syncWaiters, ...this.sleepers]) wake();
    this.prober.stop();
    this.state.stop();
    this.broadcasts.clear();
    this.stream.close();
    await this.transport.close();
    this.log.info('membership closed');
  }
}
