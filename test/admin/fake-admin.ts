/** An in-process node serving log.v1.Admin over fake operations (records every call). */
import { AdminService } from '../../src/gen/log/v1/log.js';
import { silentLogger } from '../../src/logger.js';
import type { MuxTls } from '../../src/mux/mux.js';
import { createAdminService, type AdminOperations, type ClusterView } from '../../src/server/admin-service.js';
import { allowAll, type Authorizer } from '../../src/server/auth.js';
import { NotLeaderError } from '../../src/errors.js';
import { startTestServer } from '../helpers/api-server.js';

export interface FakeAdminNode {
  addr: string;
  calls: unknown[][];
  ops: AdminOperations;
  close(): Promise<void>;
}

/** Operations of a leader (`leaderAddr` undefined) or of a follower pointing at `leaderAddr`. */
export function fakeOps(calls: unknown[][], view: ClusterView, leaderAddr?: string): AdminOperations {
  const onLeader = <T>(name: string, args: unknown[], value: T): Promise<T> => {
    calls.push([name, ...args]);
    return leaderAddr === undefined ? Promise.resolve(value) : Promise.reject(new NotLeaderError(view.leaderId, leaderAddr));
  };
  return {
    leave: () => onLeader('leave', [], true),
    status: () => {
      calls.push(['status']);
      return view;
    },
    transferLeadership: (to) => onLeader('transferLeadership', [to], to ?? 'n2/auto'),
    removeNode: (id) => onLeader('removeNode', [id], undefined),
    addLearner: (id, addr) => onLeader('addLearner', [id, addr], undefined),
    promote: (id) => onLeader('promote', [id], undefined),
    truncate: (lowest) => {
      calls.push(['truncate', lowest]);
      return Promise.resolve(lowest);
    },
  };
}

export async function startFakeAdminNode(opts: { view: ClusterView; leaderAddr?: string; authorizer?: Authorizer; tls?: MuxTls }): Promise<FakeAdminNode> {
  const calls: unknown[][] = [];
  const ops = fakeOps(calls, opts.view, opts.leaderAddr);
  const authorizer = opts.authorizer ?? allowAll;
  const node = await startTestServer({ authorizer, tls: opts.tls });
  node.grpc.server.addService(AdminService, createAdminService({ authorizer, ops, logger: silentLogger() }));
  return { addr: node.addr, calls, ops, close: () => node.close() };
}
