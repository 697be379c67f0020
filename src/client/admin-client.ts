/**
 * A client of log.v1.Admin for the CLI and tests. Membership and leadership calls go to the
 * leader: a node that is not the leader answers UNAVAILABLE with the leader's address in the
 * `replog-leader` trailer, and this client follows it (a bounded number of hops); UNAVAILABLE
 * without a hint (an election, another change pending) is retried with backoff until
 * `retryDeadlineMs`. `clusterStatus` asks the leader for the cluster view and every other member
 * for its own figures.
 */
import { ChannelCredentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { AdminClient, type StatusResponse } from '../gen/log/v1/log.js';
import type { ClientTls } from './log-client.js';
import { isReadRetryable, isServiceError, leaderHint } from './rpc-status.js';

export interface AdminClientOptions {
  /** `host:port` of any node(s). */
  addrs: readonly string[];
  tls?: ClientTls;
  /** Deadline of each call (a leadership transfer or a config change may take a few seconds). */
  callTimeoutMs?: number;
  /** Deadline of the per-node Status calls of clusterStatus. */
  probeTimeoutMs?: number;
  /** How long leader-bound calls are retried while no leader answers. */
  retryDeadlineMs?: number;
  /** Leader hints followed per call. */
  maxHops?: number;
}

export interface NodeStatusView {
  id: string;
  /** The id's name part (`n1` of `n1/uuid`). */
  name: string;
  rpcAddr: string;
  role: string;
  term: number;
  commitIndex: number;
  lastIndex: number;
  matchIndex: number;
  lagEntries: number;
  reachable: boolean;
  voter: boolean;
  lowestOffset: number;
  highestOffset: number;
  appendedRecords: number;
  /** The role, term, indexes and offsets come from the node itself (not the leader's view). */
  selfReported: boolean;
}

export interface ClusterStatusView {
  /** The node whose view this is (the leader when one answered). */
  answeredBy: string;
  leaderId: string;
  term: number;
  nodes: NodeStatusView[];
}

type Unary<Req, Res> = (req: Req, md: Metadata, opts: { deadline: Date }, cb: (err: ServiceError | null, res: Res) => void) => unknown;

const backoffMs = 100;

export class ReplogAdminClient {
  private readonly clients = new Map<string, AdminClient>();
  private readonly callTimeoutMs: number;

  constructor(private readonly opts: AdminClientOptions) {
    if (opts.addrs.length === 0) throw new Error('an admin client needs at least one address');
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
  }

  /** One node's answer to Status. */
  async status(addr: string, timeoutMs = this.callTimeoutMs): Promise<ClusterStatusView> {
    const c = this.client(addr);
    return fromWire(await call(c.status.bind(c), {}, timeoutMs));
  }

  /**
   * The leader's view of the cluster (the first reachable node's, when no leader answers), with
   * each other member's own figures merged in where it answers within probeTimeoutMs.
   */
  /** Of every bootstrap address's view, the one naming a leader in the highest term (else `fallback`). */
  private async viewNamingLeader(fallback: ClusterStatusView): Promise<ClusterStatusView> {
    const probeMs = this.opts.probeTimeoutMs ?? 1000;
    const views = await Promise.all(this.opts.addrs.map((addr) => this.status(addr, probeMs).catch(() => undefined)));
    let best = fallback;
    for (const v of views) if (v && v.leaderId !== '' && (best.leaderId === '' || v.term > best.term)) best = v;
    return best;
  }

  async clusterStatus(): Promise<ClusterStatusView> {
    let view = await this.firstAnswer((addr) => this.status(addr), isReadRetryable);
    // A node that knows no leader (partitioned, or removed from the cluster and left with a stale
    // view) is not the cluster's view: ask the other addresses for one that names a leader.
    if (view.leaderId === '') view = await this.viewNamingLeader(view);
    const leader = view.nodes.find((n) => n.id === view.leaderId);
    if (leader && view.answeredBy !== leader.id && leader.rpcAddr !== '') {
      view = await this.status(leader.rpcAddr).catch(() => view);
    }
    const probeMs = this.opts.probeTimeoutMs ?? 1000;
    const nodes = await Promise.all(
      view.nodes.map(async (n) => {
        if (n.id === view.answeredBy || n.rpcAddr === '') return n;
        const own = await this.status(n.rpcAddr, probeMs).catch(() => undefined);
        const me = own?.nodes.find((m) => m.id === n.id);
        return me && own?.answeredBy === n.id ? mergeSelf(n, me) : n;
      }),
    );
    return { ...view, nodes };
  }

  /** Resolves with the new leader's id. */
  async transferLeadership(to?: string): Promise<string> {
    const res = await this.onLeader((c) => call(c.transferLeadership.bind(c), { id: to ?? '' }, this.callTimeoutMs));
    return res.leaderId;
  }

  async removeNode(id: string): Promise<void> {
    await this.onLeader((c) => call(c.removeNode.bind(c), { id }, this.callTimeoutMs));
  }

  async addLearner(id: string, rpcAddr = ''): Promise<void> {
    await this.onLeader((c) => call(c.addLearner.bind(c), { id, rpcAddr }, this.callTimeoutMs));
  }

  async promote(id: string): Promise<void> {
    await this.onLeader((c) => call(c.promote.bind(c), { id }, this.callTimeoutMs));
  }

  /** Truncates the log of the node at `addr`; resolves with its new lowest offset. */
  async truncate(addr: string, lowest: number): Promise<number> {
    const c = this.client(addr);
    const res = await call(c.truncate.bind(c), { lowest: BigInt(lowest) }, this.callTimeoutMs);
    return Number(res.lowestOffset);
  }

  /** Truncates every member's log; one result per member, errors included. */
  async truncateAll(lowest: number): Promise<{ id: string; rpcAddr: string; lowestOffset?: number; error?: unknown }[]> {
    const view = await this.clusterStatus();
    return Promise.all(
      view.nodes.map(async (n) => {
        try {
          return { id: n.id, rpcAddr: n.rpcAddr, lowestOffset: await this.truncate(n.rpcAddr, lowest) };
        } catch (error) {
          return { id: n.id, rpcAddr: n.rpcAddr, error };
        }
      }),
    );
  }

  /** Makes the node at `addr` leave the cluster; resolves with whether its removal was seen. */
  async leave(addr: string): Promise<boolean> {
    const c = this.client(addr);
    return (await call(c.leave.bind(c), {}, Math.max(this.callTimeoutMs, 60_000))).removed;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  /** Runs `fn` on the leader: follows `replog-leader` hints, retries leaderless answers. */
  private async onLeader<T>(fn: (c: AdminClient) => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.opts.retryDeadlineMs ?? 15_000);
    let hops = 0;
    let addr: string | undefined;
    for (;;) {
      try {
        return addr === undefined ? await this.firstAnswer((a) => fn(this.client(a)), noAnswer) : await fn(this.client(addr));
      } catch (err) {
        const hint = leaderHint(err);
        if (hint !== undefined && hint !== addr && hops < (this.opts.maxHops ?? 5)) {
          hops++;
          addr = hint;
          continue;
        }
        if (!isServiceError(err) || err.code !== Status.UNAVAILABLE || Date.now() >= deadline) throw err;
        addr = hint;
        await new Promise((r) => setTimeout(r, backoffMs));
      }
    }
  }

  /** `fn` on each address in turn until one answers with something other than `moveOn` errors. */
  private async firstAnswer<T>(fn: (addr: string) => Promise<T>, moveOn: (err: unknown) => boolean): Promise<T> {
    let last: unknown;
    for (const addr of this.opts.addrs) {
      try {
        return await fn(addr);
      } catch (err) {
        last = err;
        if (!moveOn(err)) throw err;
      }
    }
    throw last;
  }

  private client(addr: string): AdminClient {
    let c = this.clients.get(addr);
    if (!c) {
      const tls = this.opts.tls;
      const creds = tls ? ChannelCredentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null) : ChannelCredentials.createInsecure();
      c = new AdminClient(addr, creds, tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {});
      this.clients.set(addr, c);
    }
    return c;
  }
}

function call<Req, Res>(method: Unary<Req, Res>, req: Req, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(req, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** The node failed (down, no leader known) without naming the leader: worth another node. */
function noAnswer(err: unknown): boolean {
  return isReadRetryable(err) && leaderHint(err) === undefined;
}

function fromWire(res: StatusResponse): ClusterStatusView {
  return {
    answeredBy: res.id,
    leaderId: res.leaderId,
    term: Number(res.term),
    nodes: res.nodes.map((n) => ({
      id: n.id,
      name: n.id.split('/')[0] ?? n.id,
      rpcAddr: n.rpcAddr,
      role: n.role,
      term: Number(n.term),
      commitIndex: Number(n.commitIndex),
      lastIndex: Number(n.lastIndex),
      matchIndex: Number(n.matchIndex),
      lagEntries: Number(n.lagEntries),
      reachable: n.reachable,
      voter: n.voter,
      lowestOffset: Number(n.lowestOffset),
      highestOffset: Number(n.highestOffset),
      appendedRecords: Number(n.appendedRecords),
      selfReported: n.id === res.id,
    })),
  };
}

/** The leader's row for a member, with the member's own figures where it reported them. */
function mergeSelf(leaderView: NodeStatusView, own: NodeStatusView): NodeStatusView {
  return {
    ...leaderView,
    role: own.role,
    term: own.term,
    commitIndex: own.commitIndex,
    lastIndex: own.lastIndex,
    lowestOffset: own.lowestOffset,
    highestOffset: own.highestOffset,
    appendedRecords: own.appendedRecords,
    selfReported: true,
  };
}
