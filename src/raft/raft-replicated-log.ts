/**
 * ReplicatedLog over Raft: the segmented log is the Raft log and the state machine; users see
 * dense offsets over data entries only, and only committed ones. Produces go to the leader
 * (forwarded from followers over the peer connection); reads are served locally up to this node's
 * commit index (possibly stale, never wrong: rule 10).
 */
import { NotLeaderError, OffsetOutOfRangeError, UnavailableError } from '../errors.js';
import { OffsetWaiters } from '../util/offset-waiters.js';
import type { Logger } from '../logger.js';
import type { AppendOptions, ConsumedRecord, ReadBatchLimits, ReplicatedLog, ServerInfo } from '../replicated-log.js';
import { EntryType, type NodeId } from './core/types.js';
import { Forwarder } from './forwarder.js';
import type { LogStorage } from './log-storage.js';
import type { RaftNode } from './node.js';
import { isRaftMessage } from './peer-frames.js';
import type { RaftTransport } from './transport.js';

export interface RaftReplicatedLogOptions {
  node: RaftNode;
  storage: LogStorage;
  transport: RaftTransport;
  /** The advertised `host:port` of a member's mux, when known. */
  addressOf: (id: NodeId) => string | undefined;
  logger: Logger;
  forwardTimeoutMs?: number;
  /** How long a produce waits for a leader to be elected before UNAVAILABLE (default 0). */
  leaderWaitMs?: number;
}

/** The human name in a NodeId (`name/uuid`). */
export function nodeName(id: NodeId): string {
  const slash = id.indexOf('/');
  return slash < 0 ? id : id.slice(0, slash);
}

export class RaftReplicatedLog implements ReplicatedLog {
  private readonly node: RaftNode;
  private readonly storage: LogStorage;
  private readonly forwarder: Forwarder;
  private readonly waiters = new OffsetWaiters(1_000_000);
  private closed = false;

  constructor(private readonly opts: RaftReplicatedLogOptions) {
    this.node = opts.node;
    this.storage = opts.storage;
    this.forwarder = new Forwarder({
      localId: opts.node.id,
      transport: opts.transport,
      appendLocal: (values) => this.appendAsLeader(values),
      logger: opts.logger,
      timeoutMs: opts.forwardTimeoutMs,
    });
    opts.transport.onMessage((frame) => {
      if (isRaftMessage(frame)) this.node.step(frame);
      else if (frame.type === 'ForwardRequest') this.forwarder.handleRequest(frame);
      else this.forwarder.handleResponse(frame);
    });
    this.node.onCommit(() => this.waiters.notify(this.highestOffset()));
  }

  async append(values: readonly Buffer[], _opts?: AppendOptions): Promise<number> {
    if (values.length === 0) return this.storage.translator.nextOffsetAt(this.storage.translator.nextIndex());
    // During an election, wait a little for a leader rather than failing at once.
    await this.node.waitForLeader(this.opts.leaderWaitMs ?? 0);
    const soft = this.node.softState();
    if (soft.role === 'leader') return this.appendAsLeader(values);
    if (soft.leader === null) throw new UnavailableError('no leader is known; retry shortly');
    return this.forwarder.forward(soft.leader, values, this.opts.addressOf(soft.leader));
  }

  private async appendAsLeader(values: readonly Uint8Array[]): Promise<number> {
    if (this.node.softState().role !== 'leader') {
      const leader = this.node.softState().leader;
      throw new NotLeaderError(leader ?? undefined, leader ? this.opts.addressOf(leader) : undefined);
    }
    const firstIndex = await this.node.propose(values);
    return this.storage.translator.offsetOf(firstIndex);
  }

  async read(offset: number): Promise<ConsumedRecord> {
    const [record] = await this.readBatch(offset, { maxRecords: 1, maxBytes: 1 });
    if (record === undefined) throw this.outOfRange(offset);
    return record;
  }

  async readBatch(from: number, limits: ReadBatchLimits): Promise<ConsumedRecord[]> {
    const t = this.storage.translator;
    const highest = this.highestOffset();
    if (from < t.firstOffset() || from > highest + 1) throw this.outOfRange(from);
    if (from === highest + 1) return [];
    const commit = this.node.commitIndex();
    let index = t.indexOf(from);
    if (index === undefined) throw this.outOfRange(from);
    let offset = from;
    const out: ConsumedRecord[] = [];
    let bytes = 0;
    while (out.length === 0 && index <= commit) {
      const want = Math.min(limits.maxRecords, commit - index + 1);
      const records = await this.storage.log.readRange(index, want, limits.maxBytes);
      if (records.length === 0) break;
      for (const r of records) {
        index = r.offset + 1;
        if (r.type !== EntryType.Data) continue;
        if (out.length >= limits.maxRecords || (out.length > 0 && bytes + r.value.length > limits.maxBytes)) break;
        out.push({ offset: offset++, value: r.value, term: r.term });
        bytes += r.value.length;
      }
    }
    return out;
  }

  /**
   * Retention on this node: drops whole segments holding only offsets below `lowest` (never past
   * the commit index; on the leader, never within `marginEntries` of an active follower). Returns
   * the new lowest offset.
   */
  async truncate(lowest: number, marginEntries = 0): Promise<number> {
    const t = this.storage.translator;
    if (lowest <= t.firstOffset()) return t.firstOffset();
    const index = t.indexOf(lowest) ?? t.nextIndex();
    await this.node.compact(index - 1, marginEntries);
    return this.lowestOffset();
  }

  waitFor(offset: number, signal?: AbortSignal): Promise<void> {
    if (offset <= this.highestOffset()) return Promise.resolve();
    return this.waiters.wait(offset, signal);
  }

  lowestOffset(): number {
    return this.storage.translator.firstOffset();
  }

  highestOffset(): number {
    const t = this.storage.translator;
    const commit = Math.min(this.node.commitIndex(), t.nextIndex() - 1);
    return t.nextOffsetAt(Math.max(commit + 1, t.firstIndex())) - 1;
  }

  servers(): Promise<ServerInfo[]> {
    const status = this.node.status();
    const leader = this.node.softState().leader;
    const ids = [...status.config.voters, ...status.config.learners];
    return Promise.resolve(
      ids.map((id) => ({ id: nodeName(id), rpcAddr: this.opts.addressOf(id) ?? '', isLeader: id === leader })),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.forwarder.close();
    await this.node.close();
    this.waiters.rejectAll(new UnavailableError('the node is shutting down'));
  }

  private outOfRange(offset: number): OffsetOutOfRangeError {
    return new OffsetOutOfRangeError(offset, this.lowestOffset(), this.highestOffset());
  }
}
