import { ChannelCredentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReplogAdminClient } from '../../src/client/admin-client.js';
import { AdminClient } from '../../src/gen/log/v1/log.js';
import type { ClusterView, MemberView } from '../../src/server/admin-service.js';
import { AclAuthorizer } from '../../src/server/auth.js';
import { generateCerts, readPem, writeAcl, type CertFiles } from '../helpers/certs.js';
import { TempDirs } from '../helpers/temp-dir.js';
import { startFakeAdminNode, type FakeAdminNode } from './fake-admin.js';

const member = (id: string, over: Partial<MemberView> = {}): MemberView => ({
  id,
  rpcAddr: '',
  role: 'follower',
  term: 3,
  commitIndex: 10,
  lastIndex: 10,
  matchIndex: 10,
  lagEntries: 0,
  reachable: true,
  voter: true,
  lowestOffset: 0,
  highestOffset: 0,
  appendedRecords: 0,
  ...over,
});

const view: ClusterView = {
  id: 'n1/aaaa',
  leaderId: 'n1/aaaa',
  term: 3,
  nodes: [member('n1/aaaa', { role: 'leader', highestOffset: 7, appendedRecords: 8 }), member('n2/bbbb', { lagEntries: 4, matchIndex: 6 })],
};

const nodes: FakeAdminNode[] = [];
const clients: ReplogAdminClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const n of nodes.splice(0)) await n.close();
});

async function node(opts: Parameters<typeof startFakeAdminNode>[0]): Promise<FakeAdminNode> {
  const n = await startFakeAdminNode(opts);
  nodes.push(n);
  return n;
}

function client(addrs: string[]): ReplogAdminClient {
  const c = new ReplogAdminClient({ addrs, callTimeoutMs: 5000, retryDeadlineMs: 2000 });
  clients.push(c);
  return c;
}

describe('log.v1.Admin service', () => {
  it('answers Status with the operations view, uint64 fields intact', async () => {
    const leader = await node({ view });
    const got = await client([leader.addr]).status(leader.addr);
    expect(got.answeredBy).toBe('n1/aaaa');
    expect(got.leaderId).toBe('n1/aaaa');
    expect(got.nodes.map((n) => [n.name, n.role, n.lagEntries, n.matchIndex, n.highestOffset, n.appendedRecords, n.selfReported])).toEqual([
      ['n1', 'leader', 0, 10, 7, 8, true],
      ['n2', 'follower', 4, 6, 0, 0, false],
    ]);
  });

  it('passes each call to the operations with its arguments', async () => {
    const leader = await node({ view });
    const c = client([leader.addr]);
    expect(await c.transferLeadership()).toBe('n2/auto');
    expect(await c.transferLeadership('n2')).toBe('n2');
    await c.removeNode('n3');
    await c.addLearner('n4/cccc', '127.0.0.1:9');
    await c.addLearner('n5');
    await c.promote('n4');
    expect(await c.truncate(leader.addr, 42)).toBe(42);
    expect(await c.leave(leader.addr)).toBe(true);
    expect(leader.calls).toEqual([
      ['transferLeadership', undefined],
      ['transferLeadership', 'n2'],
      ['removeNode', 'n3'],
      ['addLearner', 'n4/cccc', '127.0.0.1:9'],
      ['addLearner', 'n5', undefined],
      ['promote', 'n4'],
      ['truncate', 42],
      ['leave'],
    ]);
  });

  it('rejects malformed requests with INVALID_ARGUMENT before reaching the operations', async () => {
    const leader = await node({ view });
    const c = client([leader.addr]);
    const code = (p: Promise<unknown>): Promise<number> => p.then(() => status.OK, (e: ServiceError) => e.code);
    expect(await code(c.removeNode(''))).toBe(status.INVALID_ARGUMENT);
    expect(await code(c.promote('a b'))).toBe(status.INVALID_ARGUMENT);
    expect(await code(c.addLearner('n4/x', 'not-an-address'))).toBe(status.INVALID_ARGUMENT);
    expect(await code(c.truncate(leader.addr, 2 ** 53 + 2))).toBe(status.INVALID_ARGUMENT);
    expect(leader.calls).toEqual([]);
  });

  it('a follower answers UNAVAILABLE with the leader in replog-leader; the client follows it', async () => {
    const leader = await node({ view });
    const follower = await node({ view: { ...view, id: 'n2/bbbb' }, leaderAddr: leader.addr });
    const raw = new AdminClient(follower.addr, ChannelCredentials.createInsecure());
    try {
      const err = await new Promise<ServiceError>((resolve) => raw.removeNode({ id: 'n3' }, new Metadata(), { deadline: Date.now() + 5000 }, (e) => resolve(e!)));
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.metadata.get('replog-leader')).toEqual([leader.addr]);
    } finally {
      raw.close();
    }
    const c = client(['127.0.0.1:1', follower.addr]);
    await c.removeNode('n3');
    await c.promote('n4');
    expect(await c.transferLeadership('n2')).toBe('n2');
    expect(follower.calls.map((x) => x[0])).toEqual(['removeNode', 'removeNode', 'promote', 'transferLeadership']);
    expect(leader.calls).toEqual([['removeNode', 'n3'], ['promote', 'n4'], ['transferLeadership', 'n2']]);
  });

  it('clusterStatus asks the leader for the view and each member for its own figures', async () => {
    // Views are read at call time: the addresses are filled in once the nodes listen.
    const leaderView: ClusterView = { ...view, nodes: [member('n1/aaaa', { role: 'leader' }), member('n2/bbbb', { commitIndex: 6, lagEntries: 4 })] };
    const ownView: ClusterView = { id: 'n2/bbbb', leaderId: 'n1/aaaa', term: 3, nodes: [member('n1/aaaa', { role: 'leader' }), member('n2/bbbb', { commitIndex: 9, highestOffset: 5 })] };
    const leader = await node({ view: leaderView });
    const follower = await node({ view: ownView, leaderAddr: leader.addr });
    for (const v of [leaderView, ownView]) {
      v.nodes[0]!.rpcAddr = leader.addr;
      v.nodes[1]!.rpcAddr = follower.addr;
    }
    const got = await client([follower.addr]).clusterStatus();
    expect(got.answeredBy).toBe('n1/aaaa');
    const row = got.nodes.find((n) => n.name === 'n2')!;
    expect([row.commitIndex, row.highestOffset, row.lagEntries, row.selfReported]).toEqual([9, 5, 4, true]);
    expect(follower.calls).toEqual([['status'], ['status']]);
  });

  it('clusterStatus does not settle for a node that knows no leader (a removed node keeps a stale view)', async () => {
    const stale: ClusterView = { id: 'n3/cccc', leaderId: '', term: 2, nodes: [member('n3/cccc', { role: 'follower', term: 2 })] };
    const removed = await node({ view: stale });
    const leader = await node({ view: { ...view, nodes: view.nodes.map((n) => ({ ...n })) } });
    const got = await client([removed.addr, leader.addr]).clusterStatus();
    expect(got.answeredBy).toBe('n1/aaaa');
    expect(got.leaderId).toBe('n1/aaaa');
  });
});

describe('admin permission', () => {
  const temp = new TempDirs();
  let certs: CertFiles;
  let secured: FakeAdminNode;

  beforeAll(async () => {
    certs = generateCerts(await temp.make('replog-admin-certs-'));
    const acl = writeAcl(certs.dir, 'p, root, *, admin\np, nobody, *, produce\np, nobody, *, consume\n');
    secured = await startFakeAdminNode({
      view,
      authorizer: await AclAuthorizer.fromFiles(acl.model, acl.policy),
      tls: { cert: readPem(certs.serverCert), key: readPem(certs.serverKey), ca: readPem(certs.caCert) },
    });
  });

  afterAll(async () => {
    await secured.close();
    await temp.cleanup();
  });

  const as = (who: 'root' | 'nobody'): ReplogAdminClient => {
    const c = new ReplogAdminClient({
      addrs: [secured.addr],
      tls: { ca: readPem(certs.caCert), cert: readPem(certs.clients[who].cert), key: readPem(certs.clients[who].key), serverName: 'localhost' },
      callTimeoutMs: 5000,
      retryDeadlineMs: 1000,
    });
    clients.push(c);
    return c;
  };

  it('every Admin call without the admin permission is PERMISSION_DENIED and reaches no operation', async () => {
    const c = as('nobody');
    const attempts: [string, () => Promise<unknown>][] = [
      ['status', () => c.status(secured.addr)],
      ['transfer', () => c.transferLeadership('n2')],
      ['remove', () => c.removeNode('n2')],
      ['add-learner', () => c.addLearner('n4/x', '127.0.0.1:9')],
      ['promote', () => c.promote('n4')],
      ['truncate', () => c.truncate(secured.addr, 1)],
      ['leave', () => c.leave(secured.addr)],
    ];
    for (const [what, run] of attempts) {
      const err = await run().then(() => undefined, (e: ServiceError) => e);
      expect(err?.code, what).toBe(status.PERMISSION_DENIED);
      expect(err?.details, what).toContain('nobody');
    }
    expect(secured.calls).toEqual([]);
    expect((await as('root').status(secured.addr)).answeredBy).toBe('n1/aaaa');
  });
});
