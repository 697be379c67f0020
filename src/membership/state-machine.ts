/**
 * The SWIM merge rules (after memberlist's state.go). Per member, a message about incarnation i
 * overrides everything about an older incarnation; at the same incarnation
 * alive < suspect < dead, and left overrides dead. Only the member itself raises its
 * incarnation: to refute a suspicion or death of itself, or to publish new tags.
 */
import type { Logger } from '../logger.js';
import { sameTags, snapshot, type MemberEntry, type MemberTable } from './member-table.js';
import type { AliveMsg, DeadMsg, LeftMsg, MemberRecord, SuspectMsg, UpdateMessage } from './messages.js';
import { Suspicion } from './suspicion.js';
import type { Clock, MembershipEvent } from './types.js';

export interface StateHooks {
  broadcast(msg: UpdateMessage): void;
  /** True while an update about the local member is still queued for gossip. */
  pendingLocal(): boolean;
  emit(event: MembershipEvent): void;
  /** Called when this node had to refute gossip about itself (Lifeguard: a local health hint). */
  refuted(): void;
  suspected(): void;
}

export interface StateTimings {
  probeIntervalMs: number;
  suspicionMult: number;
  suspicionMaxTimeoutMult: number;
  maxMembers: number;
}

export class StateMachine {
  private readonly suspicions = new Map<string, Suspicion>();
  /** Set by leave(): gossip about our death is no longer refuted. */
  leaving = false;

  constructor(
    readonly table: MemberTable,
    private readonly clock: Clock,
    private readonly timings: StateTimings,
    private readonly hooks: StateHooks,
    private readonly log: Logger,
  ) {}

  /** Merges one update, whichever way it arrived. */
  apply(msg: UpdateMessage): void {
    switch (msg.type) {
      case 'alive':
        return this.alive(msg);
      case 'suspect':
        return this.suspect(msg);
      case 'dead':
      case 'left':
        return this.dead(msg);
    }
  }

  /** Merges a full-state record from a push-pull (a remote "dead" is only a suspicion here). */
  merge(r: MemberRecord, from: string): void {
    switch (r.state) {
      case 'alive':
        return this.alive({ type: 'alive', name: r.name, addr: r.addr, incarnation: r.incarnation, tags: r.tags });
      case 'left':
        return this.dead({ type: 'left', name: r.name, incarnation: r.incarnation });
      case 'dead':
      case 'suspect':
        return this.suspect({ type: 'suspect', name: r.name, incarnation: r.incarnation, from });
    }
  }

  /** Raises the local incarnation above `seen` and announces it. */
  refute(seen: number): void {
    const local = this.table.local;
    local.incarnation = Math.max(local.incarnation, seen) + 1;
    this.hooks.broadcast(this.localAlive());
    this.hooks.refuted();
  }

  localAlive(): AliveMsg {
    const l = this.table.local;
    return { type: 'alive', name: l.name, addr: l.addr, incarnation: l.incarnation, tags: l.tags };
  }

  /** Stops every suspicion timer (on close). */
  stop(): void {
    for (const s of this.suspicions.values()) s.cancel();
    this.suspicions.clear();
  }

  /** Forgets dead and left members whose state is older than `reapMs`. */
  reap(reapMs: number): void {
    const now = this.clock.now();
    for (const e of this.table.all()) {
      if ((e.state === 'dead' || e.state === 'left') && now - e.stateChangeMs >= reapMs) this.table.remove(e.name);
    }
  }

  private alive(a: AliveMsg): void {
    const m = this.table.get(a.name);
    if (m && this.table.isLocal(m)) return this.aliveAboutLocal(a, m);
    if (!m) return this.addMember(a);
    if (a.incarnation <= m.incarnation) return;
    const prev = m.state;
    const changed = m.addr !== a.addr || !sameTags(m.tags, a.tags);
    this.endSuspicion(m.name);
    Object.assign(m, { addr: a.addr, tags: a.tags, incarnation: a.incarnation, state: 'alive' });
    if (prev !== 'alive') m.stateChangeMs = this.clock.now();
    this.hooks.broadcast(a);
    if (prev === 'dead' || prev === 'left') this.hooks.emit({ type: 'join', member: snapshot(m) });
    else if (changed) this.hooks.emit({ type: 'update', member: snapshot(m) });
  }

  private aliveAboutLocal(a: AliveMsg, local: MemberEntry): void {
    if (this.leaving || a.incarnation < local.incarnation) return;
    if (a.incarnation === local.incarnation && a.addr === local.addr && sameTags(a.tags, local.tags)) return;
    // Someone announces us with newer or different data (e.g. our previous process): go above it.
    this.log.debug({ incarnation: a.incarnation, addr: a.addr }, 'refuting a stale alive about this node');
    this.refute(a.incarnation);
  }

  /**
   * Someone suspects us or declares us dead. At or above our incarnation: refute. Below it (they
   * missed our refutation): announce our current incarnation again, without raising it.
   */
  private aboutLocal(incarnation: number): void {
    if (this.leaving) return;
    if (incarnation >= this.table.local.incarnation) return this.refute(incarnation);
    if (!this.hooks.pendingLocal()) this.hooks.broadcast(this.localAlive());
  }

  private addMember(a: AliveMsg): void {
    if (this.table.size >= this.timings.maxMembers) {
      this.log.warn({ member: a.name, maxMembers: this.timings.maxMembers }, 'member table full: ignoring a new member');
      return;
    }
    const e: MemberEntry = { ...a, state: 'alive', stateChangeMs: this.clock.now() };
    this.table.add(e);
    this.hooks.broadcast(a);
    this.hooks.emit({ type: 'join', member: snapshot(e) });
  }

  private suspect(s: SuspectMsg): void {
    const m = this.table.get(s.name);
    if (m && this.table.isLocal(m)) return this.aboutLocal(s.incarnation);
    if (!m || s.incarnation < m.incarnation) return;
    if (m.state === 'suspect') {
      if (this.suspicions.get(m.name)?.confirm(s.from)) this.hooks.broadcast(s);
      return;
    }
    if (m.state !== 'alive') return;
    Object.assign(m, { incarnation: s.incarnation, state: 'suspect', stateChangeMs: this.clock.now() });
    this.startSuspicion(m, s.from);
    this.hooks.suspected();
    this.hooks.broadcast(s);
  }

  private dead(d: DeadMsg | LeftMsg): void {
    const m = this.table.get(d.name);
    if (m && this.table.isLocal(m)) return this.aboutLocal(d.incarnation);
    if (!m || d.incarnation < m.incarnation) return;
    const next = d.type === 'left' ? 'left' : 'dead';
    if (m.state === 'left' || (m.state === 'dead' && next === 'dead')) return;
    this.endSuspicion(m.name);
    Object.assign(m, { incarnation: d.incarnation, state: next, stateChangeMs: this.clock.now() });
    this.hooks.broadcast(d);
    this.hooks.emit({ type: next === 'left' ? 'leave' : 'fail', member: snapshot(m) });
  }

  private startSuspicion(m: MemberEntry, from: string): void {
    const n = this.table.estimatedSize();
    const k = n - 2 < this.timings.suspicionMult - 2 ? 0 : this.timings.suspicionMult - 2;
    const minMs = this.timings.suspicionMult * Math.max(1, Math.log10(Math.max(1, n))) * this.timings.probeIntervalMs;
    const maxMs = this.timings.suspicionMaxTimeoutMult * minMs;
    const incarnation = m.incarnation;
    const onTimeout = (): void => {
      this.suspicions.delete(m.name);
      const cur = this.table.get(m.name);
      if (cur?.state !== 'suspect' || cur.incarnation !== incarnation) return;
      this.log.info({ member: m.name, incarnation }, 'suspicion timed out: member declared dead');
      this.dead({ type: 'dead', name: m.name, incarnation, from: this.table.local.name });
    };
    this.endSuspicion(m.name);
    this.suspicions.set(m.name, new Suspicion(this.clock, from, k, minMs, maxMs, onTimeout));
  }

  private endSuspicion(name: string): void {
    this.suspicions.get(name)?.cancel();
    this.suspicions.delete(name);
  }
}
