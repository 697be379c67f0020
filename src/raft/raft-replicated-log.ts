/**
 * ReplicatedLog over Raft: the segmented log is the Raft log and the state machine; users see
 * dense offsets over data entries only, and only committed ones. Produces go to the leader
 * (forwarded from followers over the peer connection); reads are served locally up to this node's
 * commit index (possibly stale, never wrong: rule 10).
 */
import { InvalidArgumentError, NotLeaderError, OffsetOutOfRangeError, UnavailableError } from '../errors.js';
import { OffsetWaiters } from '../util/offset-waiters.js';
import type { Logger } from '../logger.js';
import type { AppendOptions, AppendResult, ConsumedRecord, ProducerRef, ReadBatchLimits, ReplicatedLog, ServerInfo } from '../replicated-log.js';
import { isUserEntry, type NodeId } from './core/types.js';
import { IdempotentAppender } from './dedup-appender.js';
import { userValue } from './dedup-header.js';
import { Forwarder } from './forwarder.js';
import type { LogStorage } from './log-storage.js';
import type { RaftNode } from './node.js';
import { isRaftMessage } from './peer-frames.js';
import { ReadBarrier } from './read-barrier.js';
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
  /** How long an idempotent retry waits for its original, in flight, to commit (default 10 s). */
  duplicateWaitMs?: number;
  /** How long a linearizable read waits for the leader's confirmation (default 5 s). */
  readBarrierTimeoutMs?: number;
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
  private readonly appender: IdempotentAppender;
  private readonly barrier: ReadBarrier;
  private readonly waiters = new OffsetWaiters(1_000_000);
  private closed = false;

  constructor(private readonly opts: RaftReplicatedLogOptions) {
    this.node = opts.node;
    this.storage = opts.storage;
    this.forwarder = new Forwarder({
      localId: opts.node.id,
      transport: opts.transport,
      appendLocal: (values, producer) => this.appendAsLeader(values, producer),
      logger: opts.logger,
      timeoutMs: opts.forwardTimeoutMs,
    });
    this.barrier = new ReadBarrier({ node: opts.node, transport: opts.transport, addressOf: opts.addressOf, logger: opts.logger, timeoutMs: opts.readBarrierTimeoutMs });
    opts.transport.onMessage((frame) => {
      if (isRaftMessage(frame)) this.node.step(frame);
      else if (frame.type === 'ForwardRequest') this.forwarder.handleRequest(frame);
      else if (frame.type === 'ReadIndexRequest') this.barrier.handleRequest(frame);
      else if (frame.type === 'ReadIndexResponse') this.barrier.handleResponse(frame);
      else this.forwarder.handleResponse(frame);
    });
    this.appender = new IdempotentAppender({
      tracker: opts.storage.dedup,
      propose: (proposals) => this.node.proposeEntries(proposals),
      offsetOf: (index) => this.storage.translator.offsetOf(index),
      waitForCommit: (index, signal) => this.node.waitForCommit(index, signal),
      waitMs: opts.duplicateWaitMs ?? 10_000,
      confirmLeader: (signal) => this.node.readIndex(signal).then(() => undefined),
    });
    this.node.onCommit((commit) => {
      // Before any produce learns of the commit: its retries look the originals up there.
      this.storage.applyCommitted(commit);
      this.waiters.notify(this.highestOffset());
    });
  }

  async append(values: readonly Buffer[], _opts?: AppendOptions): Promise<number> {
    if (values.length === 0) return this.storage.translator.nextOffsetAt(this.storage.translator.nextIndex());
    // During an election, wait a little for a leader rather than failing at once.
    await this.node.waitForLeader(this.opts.leaderWaitMs ?? 0);
    const soft = this.node.softState();
    if (soft.role === 'leader') return (await this.appendAsLeader(values, undefined)).offset;
    if (soft.leader === null) throw new UnavailableError('no leader is known; retry shortly');
    return (await this.forwarder.forward(soft.leader, values, this.opts.addressOf(soft.leader))).offset;
  }

  /** An idempotent producer's request (dedup-appender.ts), on the leader or forwarded to it. */
  async appendIdempotent(values: readonly Buffer[], producer: ProducerRef, opts?: AppendOptions): Promise<AppendResult> {
    if (values.length === 0) throw new InvalidArgumentError('the request holds no record');
    await this.node.waitForLeader(this.opts.leaderWaitMs ?? 0);
    const soft = this.node.softState();
    if (soft.role === 'leader') return this.appendAsLeader(values, producer, opts?.signal);
    if (soft.leader === null) throw new UnavailableError('no leader is known; retry shortly');
    return this.forwarder.forward(soft.leader, values, this.opts.addressOf(soft.leader), producer);
  }

  private async appendAsLeader(values: readonly Uint8Array[], producer: ProducerRef | undefined, signal?: AbortSignal): Promise<AppendResult> {
    if (this.node.softState().role !== 'leader') {
      const leader = this.node.softState().leader;
      throw new NotLeaderError(leader ?? undefined, leader ? this.opts.addressOf(leader) : undefined);
    }
    if (producer) return this.appender.append(values, producer, signal);
    const firstIndex = await this.node.propose(values);
    return { offset: this.storage.translator.offsetOf(firstIndex), duplicate: false };
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
        if (!isUserEntry(r.type)) continue;
        const value = userValue(r.type, r.value);
        if (out.length >= limits.maxRecords || (out.length > 0 && bytes + value.length > limits.maxBytes)) break;
        out.push({ offset: offset++, value, term: r.term });
        bytes += value.length;
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

  /**
   * ReadIndex: on the leader directly, on a follower through the leader (read-barrier.ts). During
   * an election it waits for a leader as long as a produce would.
   */
  async readBarrier(signal?: AbortSignal): Promise<void> {
    if (this.closed) throw new UnavailableError('the node is shutting down');
    await this.node.waitForLeader(this.opts.leaderWaitMs ?? 0);
    await this.barrier.wait(signal);
  }

  /** Consumers parked in waitFor (for tests and metrics). */
  waitingReads(): number {
    return this.waiters.size;
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
    this.barrier.close();
    await this.node.close();
    this.waiters.rejectAll(new UnavailableError('the node is shutting down'));
  }

  private outOfRange(offset: number): OffsetOutOfRangeError {
    return new OffsetOutOfRangeError(offset, this.lowestOffset(), this.highestOffset());
  }
}
