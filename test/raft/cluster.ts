/**
 * A tiny deterministic harness for Raft cores in tests: in-memory storages, a FIFO network with
 * partitions, and a driver that follows the Ready contract (send, persist, send-after-persist,
 * advance). Output lines describe what happened, for the data-driven scenarios.
 */
import { MemoryStorage, RaftCore, decodeConfig, EntryType } from '../../src/raft/core/index.js';
import type { Entry, Message, NodeId, RaftOptions, Ready, ReadState, SoftState } from '../../src/raft/core/index.js';
import { Prng } from '../../src/util/prng.js';

export interface TestNode {
  id: NodeId;
  core: RaftCore;
  storage: MemoryStorage;
  opts: RaftOptions;
  random: Prng;
  soft: SoftState;
  readStates: ReadState[];
  commitIndex: number;
}

export function defaultOptions(id: NodeId): RaftOptions {
  return {
    id,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    maxInflightMsgs: 256,
    maxInflightBytes: 1 << 20,
    maxMsgBytes: 1 << 20,
  };
}

const text = new TextDecoder();
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages on the wire, in send order. */
  queue: Message[] = [];
  private blocked = new Set<string>();

  constructor(readonly seed = 1) {}

  add(id: NodeId, storage: MemoryStorage, opts: Partial<RaftOptions> = {}): TestNode {
    const full = { ...defaultOptions(id), ...opts, id };
    const random = new Prng(this.seed * 7919 + this.nodes.size);
    const core = new RaftCore(full, storage, random);
    const st = core.status();
    const node: TestNode = {
      id,
      core,
      storage,
      opts: full,
      random,
      soft: { role: st.role, leader: st.leader, term: st.term },
      readStates: [],
      commitIndex: storage.hardState().commit,
    };
    this.nodes.set(id, node);
    return node;
  }

  /** Nodes `ids`, all bootstrapped with the same configuration. */
  bootstrap(ids: NodeId[], voters: NodeId[], learners: NodeId[], opts: Partial<RaftOptions> = {}): void {
    for (const id of ids) this.add(id, MemoryStorage.bootstrap({ voters, learners }), opts);
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core;
  }

  /** Restarts a node from its storage: everything not persisted is lost. */
  restart(id: NodeId): void {
    const n = this.node(id);
    this.queue = this.queue.filter((m) => m.to !== id);
    n.core = new RaftCore(n.opts, n.storage, n.random);
    const st = n.core.status();
    n.soft = { role: st.role, leader: st.leader, term: st.term };
    n.readStates = [];
  }

  partition(groups: NodeId[][]): void {
    this.blocked.clear();
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.blocked.add(`${x}>${y}`);
      }
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  isBlocked(m: Message): boolean {
    return this.blocked.has(`${m.from}>${m.to}`) || !this.nodes.has(m.to);
  }

  /** Runs the driver steps for one Ready of a node; returns lines describing it. */
  processReady(id: NodeId): string[] {
    const n = this.node(id);
    if (!n.core.hasReady()) return [];
    const rd = n.core.ready();
    const out = this.describeReady(n, rd);
    this.queue.push(...rd.messages);
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    this.queue.push(...rd.messagesAfterPersist);
    n.readStates.push(...rd.readStates);
    n.commitIndex = rd.commitIndex;
    n.core.advance(rd);
    return out;
  }

  /** Delivers queued messages addressed to `ids` (all when empty); returns what happened. */
  deliver(ids: NodeId[] = []): string[] {
    const out: string[] = [];
    const take = this.queue.filter((m) => ids.length === 0 || ids.includes(m.to));
    this.queue = this.queue.filter((m) => !(ids.length === 0 || ids.includes(m.to)));
    for (const m of take) {
      if (this.isBlocked(m)) {
        out.push(`dropped: ${formatMessage(m)}`);
        continue;
      }
      out.push(formatMessage(m));
      this.node(m.to).core.step(m);
    }
    return out;
  }

  /** Drops queued messages addressed to `ids` (all when empty). */
  drop(ids: NodeId[] = []): string[] {
    const dropped = this.queue.filter((m) => ids.length === 0 || ids.includes(m.to));
    this.queue = this.queue.filter((m) => !dropped.includes(m));
    return dropped.length === 0 ? [] : [`dropped ${dropped.length} messages`];
  }

  /** Processes Readys and delivers messages until nothing moves (bounded). */
  stabilize(ids: NodeId[] = [], maxRounds = 1000): string[] {
    const out: string[] = [];
    const who = ids.length > 0 ? ids : [...this.nodes.keys()];
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of who) {
        if (!this.node(id).core.hasReady()) continue;
        moved = true;
        out.push(...this.processReady(id));
      }
      const pending = this.queue.some((m) => who.includes(m.to));
      if (pending) {
        out.push(...this.deliver(who));
        moved = true;
      }
      if (!moved) return out;
    }
    throw new Error('stabilize did not converge');
  }

  tick(id: NodeId, n: number): void {
    for (let i = 0; i < n; i++) this.node(id).core.tick();
  }

  /** The leader everybody reachable agrees on, if any. */
  leader(): NodeId | null {
    for (const n of this.nodes.values()) if (n.core.status().role === 'leader') return n.id;
    return null;
  }

  /** Checks that committed prefixes agree on every pair of nodes (log matching of committed entries). */
  checkCommitted(): string[] {
    const problems: string[] = [];
    const nodes = [...this.nodes.values()];
    for (const a of nodes) {
      for (const b of nodes) {
        if (a.id >= b.id) continue;
        const upTo = Math.min(a.commitIndex, b.commitIndex);
        const from = Math.max(a.storage.firstIndex(), b.storage.firstIndex());
        for (let i = from; i <= upTo; i++) {
          if (a.storage.term(i) !== b.storage.term(i)) problems.push(`${a.id} and ${b.id} differ at committed index ${i}`);
        }
      }
    }
    return problems;
  }

  private describeReady(n: TestNode, rd: Ready): string[] {
    const out: string[] = [];
    const s = rd.softState;
    if (s.role !== n.soft.role || s.term !== n.soft.term || s.leader !== n.soft.leader) {
      out.push(`${n.id} is ${s.role} term=${s.term} leader=${s.leader ?? '-'}`);
      n.soft = s;
    }
    if (rd.snapshot) out.push(`${n.id} installs snapshot ${rd.snapshot.index}/${rd.snapshot.term}`);
    if (rd.commitIndex !== n.commitIndex) out.push(`${n.id} commit=${rd.commitIndex}`);
    for (const r of rd.readStates) out.push(`${n.id} read-state context=${r.context} index=${r.index}`);
    return out;
  }
}

export function formatEntry(e: Entry): string {
  switch (e.type) {
    case EntryType.Noop:
      return `${e.index}/${e.term} noop`;
    case EntryType.Config: {
      const c = decodeConfig(e.data);
      return `${e.index}/${e.term} conf(v=${c.voters.join(',')} l=${c.learners.join(',')})`;
    }
    default:
      return `${e.index}/${e.term} ${text.decode(e.data)}`;
  }
}

export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'AppendEntries':
      return `${head} prev=${m.prevIndex}/${m.prevTerm} commit=${m.commit} [${m.entries.map(formatEntry).join(', ')}]`;
    case 'AppendEntriesResponse':
      return m.success
        ? `${head} ok index=${m.index}`
        : `${head} reject index=${m.index} hint=${m.conflictIndex}/${m.conflictTerm}`;
    case 'RequestVote':
      return `${head}${m.pre ? ' pre' : ''}${m.transfer ? ' transfer' : ''} last=${m.lastIndex}/${m.lastTerm}`;
    case 'RequestVoteResponse':
      return `${head}${m.pre ? ' pre' : ''} ${m.granted ? 'granted' : 'rejected'}`;
    case 'Heartbeat':
      return `${head} commit=${m.commit}${m.readContext ? ` read=${m.readContext}` : ''}`;
    case 'HeartbeatResponse':
      return `${head}${m.readContext ? ` read=${m.readContext}` : ''}`;
    case 'InstallSnapshot':
      return `${head} snap=${m.snapshot.index}/${m.snapshot.term} v=${m.snapshot.config.voters.join(',')} l=${m.snapshot.config.learners.join(',')}`;
    case 'TimeoutNow':
      return head;
  }
}
