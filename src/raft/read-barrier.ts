/**
 * Linearizable reads (ARCHITECTURE 3a rule 10, ReadIndex; no lease reads). Before a read is
 * answered, the node learns a read index from the leader — the leader's commit index when the
 * request arrived, once a quorum heartbeat round after it confirmed the leadership — and waits
 * until its own commit index reaches it. Every write acknowledged before the read started is then
 * visible here. On the leader this is `RaftNode.readIndex()`; a follower asks the leader over the
 * peer connection (ReadIndexRequest / ReadIndexResponse frames), like a forwarded produce.
 */
import { NotLeaderError, UnavailableError, asError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { deadlineSignal } from '../util/deadline-signal.js';
import type { NodeId } from './core/types.js';
import type { RaftNode } from './node.js';
import type { ReadIndexRequest, ReadIndexResponse } from './peer-frames.js';
import type { RaftTransport } from './transport.js';

export interface ReadBarrierOptions {
  node: RaftNode;
  transport: RaftTransport;
  /** The advertised `host:port` of a member's mux, when known (for UNAVAILABLE hints). */
  addressOf: (id: NodeId) => string | undefined;
  logger: Logger;
  /** How long the leader may take to confirm a read index (default 5 s). */
  timeoutMs?: number;
  /** Read-index requests this node waits on at once (default 10,000); more are UNAVAILABLE. */
  maxPending?: number;
}

interface Pending {
  resolve: (index: number) => void;
  reject: (err: Error) => void;
  cleanup: () => void;
}

export class ReadBarrier {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(private readonly opts: ReadBarrierOptions) {
    this.log = opts.logger.child({ component: 'read-barrier' });
    this.timeoutMs = opts.timeoutMs ?? 5_000;
  }

  /**
   * Resolves once this node has committed every entry the leader had committed when the call
   * started. Rejects with UnavailableError (no leader, leadership not confirmed in time, shutdown)
   * or the signal's reason when it aborts.
   */
  async wait(signal?: AbortSignal): Promise<void> {
    const deadline = deadlineSignal(this.timeoutMs, () => new UnavailableError(`the leader did not confirm a linearizable read within ${this.timeoutMs} ms; retry`), signal);
    try {
      const index = await this.readIndex(deadline.signal);
      await this.opts.node.waitForCommit(index, deadline.signal);
    } finally {
      deadline.dispose();
    }
  }

  private readIndex(signal: AbortSignal): Promise<number> {
    if (this.closed) return Promise.reject(new UnavailableError('the node is shutting down'));
    const soft = this.opts.node.softState();
    if (soft.role === 'leader') return this.opts.node.readIndex(signal).catch((err: unknown) => Promise.reject(unavailable(err)));
    if (soft.leader === null) return Promise.reject(new UnavailableError('no leader is known: a linearizable read needs one; retry shortly'));
    return this.askLeader(soft.leader, signal);
  }

  private askLeader(leader: NodeId, signal: AbortSignal): Promise<number> {
    const leaderAddr = this.opts.addressOf(leader);
    if (this.pending.size >= (this.opts.maxPending ?? 10_000)) {
      return Promise.reject(new UnavailableError('too many linearizable reads are waiting for the leader; retry', leaderAddr));
    }
    if (signal.aborted) return Promise.reject(asError(signal.reason));
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      const onAbort = (): void => {
        this.pending.delete(id);
        reject(asError(signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, { resolve, reject, cleanup: () => signal.removeEventListener('abort', onAbort) });
      this.opts.transport.send({ type: 'ReadIndexRequest', from: this.opts.node.id, to: leader, term: 0, id });
    });
  }

  /** A follower asks this node (the leader, it thinks) for a read index. */
  handleRequest(req: ReadIndexRequest): void {
    const answer = (r: Pick<ReadIndexResponse, 'ok' | 'index' | 'errorMessage' | 'leader'>): void =>
      this.opts.transport.send({ type: 'ReadIndexResponse', from: this.opts.node.id, to: req.from, term: 0, id: req.id, ...r });
    const deadline = deadlineSignal(this.timeoutMs, () => new UnavailableError('leadership was not confirmed in time'));
    this.opts.node
      .readIndex(deadline.signal)
      .then(
        (index) => answer({ ok: true, index, errorMessage: '', leader: this.opts.node.id }),
        (err: unknown) => {
          const leader = err instanceof NotLeaderError ? (err.leaderId ?? '') : (this.opts.node.softState().leader ?? '');
          answer({ ok: false, index: 0, errorMessage: errorMessage(err), leader });
        },
      )
      .finally(() => deadline.dispose());
  }

  /** The leader answered a read-index request of this node. */
  handleResponse(res: ReadIndexResponse): void {
    const p = this.pending.get(res.id);
    if (!p) return; // aborted or timed out already, or a duplicate
    this.pending.delete(res.id);
    p.cleanup();
    if (res.ok) p.resolve(res.index);
    else p.reject(new UnavailableError(`leader ${res.from}: ${res.errorMessage}`, res.leader ? this.opts.addressOf(res.leader) : undefined));
  }

  /** Fails every waiting read (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      p.cleanup();
      p.reject(new UnavailableError('the node is shutting down'));
    }
    this.pending.clear();
    this.log.debug('read barrier closed');
  }
}

/** NotLeaderError from the core (leadership lost in between) is retryable: UNAVAILABLE. */
function unavailable(err: unknown): Error {
  if (err instanceof NotLeaderError) return new UnavailableError(err.message, err.leaderAddr);
  return asError(err);
}
