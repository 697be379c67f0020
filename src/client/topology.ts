/**
 * The client's view of the cluster: the members GetServers reported, where to send a produce
 * (the leader) and a read (a follower, round-robin, else the leader), and which nodes failed
 * recently (avoided for `suspectMs` while others are available).
 */
import type { ServerInfo } from '../replicated-log.js';
import { splitHostPort } from '../config.js';

export class Topology {
  private members: ServerInfo[] = [];
  /** Addresses of the members that can be dialled (GetServers may report `""` or port 0). */
  private addrs: string[] = [];
  private leader: string | undefined;
  /** The node that answered the last GetServers: it forwards produces when no leader is known. */
  private source: string | undefined;
  private discovered = false;
  private nextFollower = 0;
  private readonly downUntilMs = new Map<string, number>();

  constructor(
    private readonly bootstrap: readonly string[],
    private readonly suspectMs: number,
  ) {}

  /** Takes a GetServers answer from `source`. */
  update(servers: readonly ServerInfo[], source: string): void {
    this.members = servers.map((s) => ({ ...s }));
    this.source = source;
    this.discovered = true;
    // A one-node cluster may not know its own dialable address (an agent on port 0): it is `source`.
    const dialable = (s: ServerInfo): string | undefined => (isDialable(s.rpcAddr) ? s.rpcAddr : servers.length === 1 ? source : undefined);
    this.addrs = unique(servers.map(dialable).filter((a): a is string => a !== undefined));
    const leader = servers.find((s) => s.isLeader);
    this.leader = leader ? dialable(leader) : undefined;
  }

  /** The `replog-leader` trailer named a leader. */
  setLeader(addr: string): void {
    this.leader = addr;
    if (!this.addrs.includes(addr)) this.addrs.push(addr);
    this.downUntilMs.delete(addr);
  }

  forgetLeader(addr: string): void {
    if (this.leader === addr) this.leader = undefined;
  }

  markDown(addr: string): void {
    this.downUntilMs.set(addr, Date.now() + this.suspectMs);
  }

  markUp(addr: string): void {
    this.downUntilMs.delete(addr);
  }

  isDiscovered(): boolean {
    return this.discovered;
  }

  servers(): ServerInfo[] {
    return this.members.map((s) => ({ ...s }));
  }

  leaderAddr(): string | undefined {
    return this.leader;
  }

  /**
   * Where a produce goes: the leader, even when it failed recently (a request that cannot
   * connect is safely retried; a follower that cannot forward would make the outcome unknown),
   * else the node that answered GetServers (it forwards), else any live node.
   */
  produceTarget(): string | undefined {
    return this.leader ?? this.source ?? this.pickAlive(this.candidates());
  }

  /** Where a read goes: the next live follower, else the leader, else any node. */
  readTarget(): string | undefined {
    const followers = this.addrs.filter((a) => a !== this.leader && !this.isDown(a));
    if (followers.length > 0) {
      this.nextFollower = (this.nextFollower + 1) % followers.length;
      return followers[this.nextFollower];
    }
    if (this.leader !== undefined && !this.isDown(this.leader)) return this.leader;
    return this.pickAlive(this.candidates());
  }

  /** Addresses to ask GetServers, live ones first. */
  discoveryOrder(): string[] {
    const all = this.candidates();
    return [...all.filter((a) => !this.isDown(a)), ...all.filter((a) => this.isDown(a))];
  }

  /** Every address the client may dial: members and bootstrap addresses. */
  known(): Set<string> {
    return new Set(this.candidates());
  }

  private candidates(): string[] {
    const first = this.leader === undefined ? [] : [this.leader];
    return unique([...first, ...this.addrs, ...this.bootstrap]);
  }

  private pickAlive(addrs: readonly string[]): string | undefined {
    return addrs.find((a) => !this.isDown(a)) ?? addrs[0];
  }

  private isDown(addr: string): boolean {
    const until = this.downUntilMs.get(addr);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.downUntilMs.delete(addr);
    return false;
  }
}

/** `host:port` with a real port (an agent may advertise port 0 or nothing before it knows). */
export function isDialable(addr: string): boolean {
  const hp = splitHostPort(addr);
  return hp !== null && hp.port > 0;
}

function unique(addrs: readonly string[]): string[] {
  return [...new Set(addrs)];
}
