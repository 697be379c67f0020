import { ReplogError } from '../../src/errors.js';
import { EntryType, type NodeId, type Proposal } from '../../src/raft/core/types.js';
import type { SafetyChecker } from './checker.js';
import { bytesEqual } from './checker.js';
import type { SimNode } from './sim-node.js';
import type { TraceSink } from './trace.js';
import { violation, type SimClock } from './violation.js';

interface PendingProposal {
  id: number;
  index: number;
  term: number;
  data: Uint8Array;
}

export interface AckedProposal extends PendingProposal {
  node: NodeId;
}

const encoder = new TextEncoder();

/**
 * Clients of the simulated cluster: they propose to whichever node believes it leads and track
 * each proposal by (index, term). A proposal is acknowledged only when the node it went to has
 * committed the entry at its index with its term (ARCHITECTURE 3a rule 6); a different term there
 * means it was lost (a known failure); a crash of that node leaves the outcome unknown.
 */
export class Workload {
  /** Per node identity and life: proposals waiting for that node's commit. */
  private readonly pending = new Map<string, PendingProposal[]>();
  readonly acked: AckedProposal[] = [];
  private readonly ackedIds = new Set<number>();
  readonly stats = { proposed: 0, refused: 0, acked: 0, failed: 0, unknown: 0 };
  private nextId = 1;

  constructor(
    private readonly clock: SimClock,
    private readonly checker: SafetyChecker,
    private readonly trace: TraceSink | null,
  ) {}

  /** Proposes `count` entries through `node`; returns their ids ([] when the core refused). */
  propose(node: SimNode, count: number): number[] {
    const core = node.core;
    if (core === null) return [];
    const batch: Proposal[] = [];
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.nextId++;
      ids.push(id);
      batch.push({ type: EntryType.Data, data: encoder.encode(`p${id}`) });
    }
    let at: { index: number; term: number };
    try {
      at = core.propose(batch);
    } catch (err) {
      if (!(err instanceof ReplogError)) throw err;
      this.stats.refused += count;
      this.trace?.(`${node.id} propose ${count} refused: ${err.code}`);
      return [];
    }
    const list = this.listFor(node);
    batch.forEach((p, i) => list.push({ id: ids[i]!, index: at.index + i, term: at.term, data: p.data }));
    this.stats.proposed += count;
    this.trace?.(`${node.id} propose p${ids[0]}..p${ids[ids.length - 1]} at ${at.index}/${at.term}`);
    node.afterInput();
    return ids;
  }

  /** Resolves `node`'s proposals whose index is now committed there. */
  onCommitted(node: SimNode, to: number): void {
    const list = this.pending.get(this.key(node));
    if (list === undefined) return;
    const waiting = list.filter((p) => p.index > to);
    if (waiting.length === list.length) return;
    for (const p of list) if (p.index <= to) this.resolve(node, p);
    this.pending.set(this.key(node), waiting);
  }

  /** The node crashed: its waiting proposals have an unknown outcome. */
  onCrash(node: SimNode): void {
    const key = this.key(node);
    this.stats.unknown += this.pending.get(key)?.length ?? 0;
    this.pending.delete(key);
  }

  isAcked(id: number): boolean {
    return this.ackedIds.has(id);
  }

  private resolve(node: SimNode, p: PendingProposal): void {
    const e = node.durableEntry(p.index);
    const term = e?.term ?? this.checker.committedTerm(p.index);
    if (term !== p.term) {
      this.stats.failed++;
      this.trace?.(`${node.id} p${p.id} lost: ${p.index} committed with term ${term ?? '?'}`);
      return;
    }
    const data = e?.data ?? this.checker.committedEntry(p.index)?.data ?? null;
    if (data !== null && !bytesEqual(data, p.data)) {
      throw violation(this.clock, 'acknowledgement', `${node.id} p${p.id} at ${p.index}/${p.term} holds other data`);
    }
    this.stats.acked++;
    this.acked.push({ ...p, node: node.id });
    this.ackedIds.add(p.id);
    this.trace?.(`${node.id} ack p${p.id} at ${p.index}/${p.term}`);
  }

  private listFor(node: SimNode): PendingProposal[] {
    const key = this.key(node);
    let list = this.pending.get(key);
    if (list === undefined) {
      list = [];
      this.pending.set(key, list);
    }
    return list;
  }

  private key(node: SimNode): string {
    return `${node.id}#${node.epoch}`;
  }
}
