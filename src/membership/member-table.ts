/**
 * The member table: one mutable entry per known member, the local one included. It only stores;
 * the SWIM rules that change it live in state-machine.ts.
 */
import type { MemberRecord } from './messages.js';
import type { Member, MemberState, Tags } from './types.js';

export interface MemberEntry {
  name: string;
  addr: string;
  tags: Tags;
  incarnation: number;
  state: MemberState;
  /** Clock time of the last state change (for reaping dead and left members). */
  stateChangeMs: number;
}

export function snapshot(e: MemberEntry): Member {
  return { name: e.name, addr: e.addr, tags: { ...e.tags }, incarnation: e.incarnation, state: e.state };
}

export function toRecord(e: MemberEntry): MemberRecord {
  return { name: e.name, addr: e.addr, tags: e.tags, incarnation: e.incarnation, state: e.state };
}

export function sameTags(a: Tags, b: Tags): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

export class MemberTable {
  private readonly entries = new Map<string, MemberEntry>();

  constructor(readonly local: MemberEntry) {
    this.entries.set(local.name, local);
  }

  get size(): number {
    return this.entries.size;
  }

  get(name: string): MemberEntry | undefined {
    return this.entries.get(name);
  }

  isLocal(e: MemberEntry): boolean {
    return e === this.local;
  }

  add(e: MemberEntry): void {
    this.entries.set(e.name, e);
  }

  remove(name: string): void {
    if (name !== this.local.name) this.entries.delete(name);
  }

  all(): MemberEntry[] {
    return [...this.entries.values()];
  }

  /** Other members that are alive or suspect: the ones probed and gossiped to. */
  live(): MemberEntry[] {
    return this.all().filter((e) => e !== this.local && (e.state === 'alive' || e.state === 'suspect'));
  }

  /** Members counted for timeouts and retransmit limits (all but dead and left, self included). */
  estimatedSize(): number {
    return this.live().length + 1;
  }
}
