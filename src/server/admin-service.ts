/**
 * The log.v1.Admin service (cluster administration). Every call needs the `admin` permission;
 * errors go through the one status mapping (status.ts).
 *
 * Calls that change the cluster (TransferLeadership, RemoveNode, AddLearner, Promote) run on the
 * leader: elsewhere the operations throw NotLeaderError, which becomes UNAVAILABLE with the
 * leader's address in the `replog-leader` trailer, and the client (src/client/admin-client.ts)
 * asks the leader. Status and Truncate answer on the node that receives them; Leave makes that
 * node leave.
 */
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { InvalidArgumentError, MAX_OFFSET } from '../errors.js';
import { hostPortSchema } from '../config.js';
import type {
  AddLearnerRequest,
  AddLearnerResponse,
  LeaveRequest,
  LeaveResponse,
  NodeStatus,
  PromoteRequest,
  PromoteResponse,
  RemoveNodeRequest,
  RemoveNodeResponse,
  StatusRequest,
  StatusResponse,
  TransferLeadershipRequest,
  TransferLeadershipResponse,
  TruncateRequest,
  TruncateResponse,
} from '../gen/log/v1/log.js';
import type { Logger } from '../logger.js';
import type { Authorizer } from './auth.js';
import { toStatus } from './status.js';

/** Longest node id accepted in a request (a name plus a uuid is far shorter). */
const maxIdChars = 256;

/** One member as the answering node sees it; numbers are 0 where it cannot tell. */
export interface MemberView {
  id: string;
  rpcAddr: string;
  /** 'leader' | 'follower' | 'candidate' | 'precandidate' | 'learner' | 'unknown'. */
  role: string;
  term: number;
  commitIndex: number;
  lastIndex: number;
  matchIndex: number;
  lagEntries: number;
  reachable: boolean;
  voter: boolean;
  /** Only for the answering node. */
  lowestOffset: number;
  highestOffset: number;
  appendedRecords: number;
}

export interface ClusterView {
  /** The node that answered. */
  id: string;
  /** The leader as that node knows it ('' when none). */
  leaderId: string;
  term: number;
  nodes: MemberView[];
}

export interface AdminOperations {
  /** Makes this node leave the cluster for good; resolves with whether its removal was seen. */
  leave(): Promise<boolean>;
  /** The cluster as this node sees it (the leader's view on the leader). */
  status(): ClusterView;
  /** Hands leadership to `to` (a voter) or to the most caught-up voter; resolves with the new leader. */
  transferLeadership(to: string | undefined): Promise<string>;
  removeNode(id: string): Promise<void>;
  /** `rpcAddr` may be undefined when gossip knows the member. */
  addLearner(id: string, rpcAddr: string | undefined): Promise<void>;
  promote(id: string): Promise<void>;
  /** Drops this node's whole segments below `lowest`; resolves with the new lowest offset. */
  truncate(lowest: number): Promise<number>;
}

type Handler<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

export function createAdminService(opts: { authorizer: Authorizer; ops: AdminOperations; logger: Logger }): UntypedServiceImplementation {
  const log = opts.logger.child({ component: 'admin' });
  const { ops } = opts;
  /** Authorizes `admin`, logs the operation, runs it, maps its errors. */
  const rpc = <Req, Res>(name: string, run: (req: Req) => Promise<Res>, quiet = false): Handler<Req, Res> => (call, callback) => {
    let subject: string;
    try {
      subject = opts.authorizer.authorize(call, 'admin');
    } catch (err) {
      callback(toStatus(err));
      return;
    }
    if (!quiet) log.info({ subject, op: name, request: describe(call.request) }, `admin: ${name}`);
    Promise.resolve()
      .then(() => run(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          if (!quiet) log.info({ subject, op: name, err }, `admin: ${name} failed`);
          callback(toStatus(err));
        },
      );
  };
  return {
    leave: rpc<LeaveRequest, LeaveResponse>('leave', async () => ({ removed: await ops.leave() })),
    status: rpc<StatusRequest, StatusResponse>('status', () => Promise.resolve(toWireStatus(ops.status())), true),
    transferLeadership: rpc<TransferLeadershipRequest, TransferLeadershipResponse>('transfer leadership', async (req) => ({
      leaderId: await ops.transferLeadership(req.id === '' ? undefined : checkId(req.id)),
    })),
    removeNode: rpc<RemoveNodeRequest, RemoveNodeResponse>('remove node', async (req) => {
      await ops.removeNode(checkId(req.id));
      return {};
    }),
    addLearner: rpc<AddLearnerRequest, AddLearnerResponse>('add learner', async (req) => {
      await ops.addLearner(checkId(req.id), checkAddr(req.rpcAddr));
      return {};
    }),
    promote: rpc<PromoteRequest, PromoteResponse>('promote', async (req) => {
      await ops.promote(checkId(req.id));
      return {};
    }),
    truncate: rpc<TruncateRequest, TruncateResponse>('truncate', async (req) => {
      if (req.lowest > BigInt(MAX_OFFSET)) throw new InvalidArgumentError(`lowest ${req.lowest} is above ${MAX_OFFSET}`);
      return { lowestOffset: BigInt(await ops.truncate(Number(req.lowest))) };
    }),
  };
}

function checkId(id: string): string {
  if (id === '') throw new InvalidArgumentError('a node id is required');
  if (id.length > maxIdChars || /[\s,]/.test(id)) throw new InvalidArgumentError(`not a node id: "${id.slice(0, 64)}"`);
  return id;
}

function checkAddr(addr: string): string | undefined {
  if (addr === '') return undefined;
  if (!hostPortSchema.safeParse(addr).success) throw new InvalidArgumentError(`rpc_addr: expected HOST:PORT, got "${addr.slice(0, 64)}"`);
  return addr;
}

function describe(req: unknown): unknown {
  if (typeof req !== 'object' || req === null) return req;
  return Object.fromEntries(Object.entries(req).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]));
}

export function toWireStatus(view: ClusterView): StatusResponse {
  return {
    id: view.id,
    leaderId: view.leaderId,
    term: BigInt(view.term),
    nodes: view.nodes.map(toWireNode),
  };
}

function toWireNode(n: MemberView): NodeStatus {
  const u = (v: number): bigint => BigInt(Math.max(0, Math.trunc(v)));
  return {
    id: n.id,
    rpcAddr: n.rpcAddr,
    role: n.role,
    term: u(n.term),
    commitIndex: u(n.commitIndex),
    lastIndex: u(n.lastIndex),
    lagEntries: u(n.lagEntries),
    reachable: n.reachable,
    lowestOffset: u(n.lowestOffset),
    highestOffset: u(n.highestOffset),
    appendedRecords: u(n.appendedRecords),
    voter: n.voter,
    matchIndex: u(n.matchIndex),
  };
}
