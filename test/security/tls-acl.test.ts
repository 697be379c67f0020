/**
 * Client certificates the node must not accept (expired, not yet valid, another CA), a CN the ACL
 * does not name, and ACL files that do not parse: the agent refuses to start rather than run open.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChannelCredentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogClient } from '../../src/gen/log/v1/log.js';
import { AclAuthorizer } from '../../src/server/auth.js';
import { generateCerts, readPem, writeAcl, type CertFiles } from '../helpers/certs.js';
import { TempDirs } from '../helpers/temp-dir.js';
import { datedClientCert } from './dated-certs.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';

const temp = new TempDirs();
let certs: CertFiles;
let node: TestServer;

beforeAll(async () => {
  certs = generateCerts(await temp.make('replog-sec-tls-'));
  const acl = writeAcl(certs.dir, 'p, root, *, produce\np, root, *, consume\n');
  node = await startTestServer({
    authorizer: await AclAuthorizer.fromFiles(acl.model, acl.policy),
    tls: { cert: readPem(certs.serverCert), key: readPem(certs.serverKey), ca: readPem(certs.caCert) },
  });
});

afterAll(async () => {
  await node.close();
  await temp.cleanup();
});

function produceWith(pair: { cert: string; key: string }): Promise<{ code: number; details: string }> {
  const c = new LogClient(node.addr, ChannelCredentials.createSsl(readPem(certs.caCert), readPem(pair.key), readPem(pair.cert)), {
    'grpc.ssl_target_name_override': 'localhost',
  });
  return new Promise<{ code: number; details: string }>((resolve) =>
    c.produce({ record: { value: Buffer.from('v'), offset: 0n, term: 0n, type: 0 }, records: [], producerId: '', sequence: 0n }, new Metadata(), { deadline: Date.now() + 10_000 }, (e: ServiceError | null) =>
      resolve(e ? { code: e.code, details: e.details } : { code: status.OK, details: '' }),
    ),
  ).finally(() => c.close());
}

describe('client certificates', () => {
  it('a valid certificate whose CN the policy allows may produce (the control case)', async () => {
    expect((await produceWith(certs.clients.root)).code).toBe(status.OK);
  });

  it('an expired certificate with CN root is UNAUTHENTICATED', async () => {
    const expired = datedClientCert(certs.dir, 'expired', 'root', '20200101000000Z', '20200102000000Z');
    expect((await produceWith(expired)).code).toBe(status.UNAUTHENTICATED);
  });

  it('a not-yet-valid certificate with CN root is UNAUTHENTICATED', async () => {
    const future = datedClientCert(certs.dir, 'future', 'root', '20991231000000Z', '21000101000000Z');
    expect((await produceWith(future)).code).toBe(status.UNAUTHENTICATED);
  });

  it('a certificate from another CA with CN root is UNAUTHENTICATED', async () => {
    expect((await produceWith(certs.clients.rogue)).code).toBe(status.UNAUTHENTICATED);
  });

  it('a valid certificate whose CN the policy does not name is PERMISSION_DENIED', async () => {
    const res = await produceWith(certs.clients.nobody);
    expect(res.code).toBe(status.PERMISSION_DENIED);
    expect(res.details).toContain('nobody');
  });
});

/** Runs `replog agent` and resolves with its exit code and stderr (it must not keep running). */
function runAgent(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'agent', ...args], { timeout: 60_000 }, (err, _stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
}

describe('ACL files that do not parse', () => {
  it.each([
    ['model', '[matchers]\nm = r.sub ==\n', 'p, root, *, produce\n', '--acl-model-file'],
    ['policy', undefined, 'p, root\n"unterminated, *, produce\n', '--acl-policy-file'],
  ])('a broken %s file: the agent exits non-zero naming the option, and never serves', async (_what, model, policy, option) => {
    const dir = await temp.make('replog-sec-acl-');
    const acl = writeAcl(dir, policy);
    if (model !== undefined) writeFileSync(acl.model, model);
    const res = await runAgent([
      '--node-name', 'n1', '--data-dir', join(dir, 'data'), '--bind-addr', '127.0.0.1:0', '--rpc-port', '0', '--bootstrap',
      '--server-tls-cert-file', certs.serverCert, '--server-tls-key-file', certs.serverKey, '--server-tls-ca-file', certs.caCert,
      '--acl-model-file', acl.model, '--acl-policy-file', acl.policy,
    ]);
    expect(res.code).not.toBe(0);
    expect(res.code).not.toBeNull();
    expect(res.stderr).toContain(option);
  });
});
