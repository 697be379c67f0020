/**
 * Forwarding of produces from a follower to the leader over the peer connection (ARCHITECTURE 1
 * and 6). The follower has already authorized its caller; the leader appends without forwarding
 * again, and a follower never retries a forwarded produce by itself (rule 6): a lost answer is an
 * "outcome unknown" UNAVAILABLE for the client to handle.
 */
import { DiskFullError, InvalidArgumentError, NotLeaderError, ProducerSequenceError, RecordTooLargeError, ReplogError, UnavailableError, errorMessage } from '../errors.js';
import type { AppendResult, ProducerRef } from '../replicated-log.js';
import type { Logger } from '../logger.js';
import type { NodeId } from './core/types.js';
import type { ForwardErrorKind, ForwardRequest, ForwardResponse } from './peer-frames.js';
import type { RaftTransport } from './transport.js';

export interface ForwarderOptions {
  localId: NodeId;
  transport: RaftTransport;
  /** Appends on this node as leader (never forwards again); idempotently with a producer. */
  appendLocal: (values: readonly Uint8Array[], producer: ProducerRef | undefined) => Promise<AppendResult>;
  logger: Logger;
  timeoutMs?: number;
  maxPending?: number;
}

interface Pending {
  /** The idempotent request's producer, to rebuild a ProducerSequenceError. */
  producer: ProducerRef | undefined;
  resolve: (result: AppendResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Forwarder {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly opts: ForwarderOptions) {
    this.log = opts.logger.child({ component: 'forwarder' });
  }

  /** Sends values to `leader`; resolves with the first user offset the leader assigned (or the originals'). */
  forward(leader: NodeId, values: readonly Uint8Array[], leaderAddr?: string, producer?: ProducerRef): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new UnavailableError('the node is shutting down'));
    if (this.pending.size >= (this.opts.maxPending ?? 10_000)) {
      return Promise.reject(new UnavailableError('too many produces are being forwarded to the leader; retry', leaderAddr));
    }
    const id = this.nextId++;
    return new Promise<AppendResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new UnavailableError('the leader did not answer a forwarded produce in time; its outcome is unknown', leaderAddr));
      }, this.opts.timeoutMs ?? 10_000);
      timer.unref();
      this.pending.set(id, { producer, resolve, reject, timer });
      const req: ForwardRequest = { type: 'ForwardRequest', from: this.opts.localId, to: leader, term: 0, id, values: [...values], ...(producer ? { producer } : {}) };
      this.opts.transport.send(req);
    });
  }

  /** A forwarded produce arrived: append it here as leader and answer. */
  handleRequest(req: ForwardRequest): void {
    const answer = (r: Omit<ForwardResponse, 'type' | 'from' | 'to' | 'term' | 'id'>): void =>
      this.opts.transport.send({ type: 'ForwardResponse', from: this.opts.localId, to: req.from, term: 0, id: req.id, ...r });
    this.opts.appendLocal(req.values, req.producer).then(
      (r) => answer({ ok: true, firstOffset: r.offset, errorKind: 'internal', errorMessage: '', leader: '', ...(r.duplicate ? { duplicate: true } : {}) }),
      (err: unknown) => {
        const { kind, message } = classify(err);
        const leader = err instanceof NotLeaderError ? (err.leaderId ?? '') : '';
        const producerError = err instanceof ProducerSequenceError ? { producerError: { problem: err.problem, expected: err.expected } } : {};
        answer({ ok: false, firstOffset: 0, errorKind: kind, errorMessage: message, leader, ...producerError });
      },
    );
  }

  /** The leader answered a produce this node forwarded. */
  handleResponse(res: ForwardResponse): void {
    const p = this.pending.get(res.id);
    if (!p) return; // timed out already, or a duplicate
    this.pending.delete(res.id);
    clearTimeout(p.timer);
    if (res.ok) p.resolve({ offset: res.firstOffset, duplicate: res.duplicate === true });
    else p.reject(toError(res, p.producer));
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new UnavailableError('the node is shutting down; the outcome of the forwarded produce is unknown'));
    }
    this.pending.clear();
  }
}

function classify(err: unknown): { kind: ForwardErrorKind; message: string } {
  const message = errorMessage(err);
  if (err instanceof RecordTooLargeError) return { kind: 'too-large', message };
  if (err instanceof InvalidArgumentError) return { kind: 'invalid-argument', message };
  if (err instanceof DiskFullError) return { kind: 'disk-full', message };
  if (err instanceof ProducerSequenceError) return { kind: 'producer-sequence', message };
  if (err instanceof NotLeaderError || err instanceof UnavailableError) return { kind: 'unavailable', message };
  if (err instanceof ReplogError) return { kind: 'unavailable', message };
  return { kind: 'internal', message: 'internal error on the leader' };
}

function toError(res: ForwardResponse, producer: ProducerRef | undefined): Error {
  const msg = `leader ${res.from}: ${res.errorMessage}`;
  switch (res.errorKind) {
    case 'producer-sequence':
      if (!producer || !res.producerError) return new UnavailableError(msg);
      return new ProducerSequenceError(producer.id, res.producerError.problem, producer.sequence, res.producerError.expected);
    case 'too-large':
    case 'invalid-argument':
      return new InvalidArgumentError(msg);
    case 'disk-full':
      return new DiskFullError('forwarded produce', res.from, new Error(res.errorMessage));
    case 'unavailable':
      return new UnavailableError(msg);
    case 'internal':
      return new UnavailableError(msg);
  }
}
