import { ChannelCredentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogClient, type ConsumeResponse, type ProduceResponse } from '../../src/gen/log/v1/log.js';
import { AclAuthorizer } from '../../src/server/auth.js';
import { generateCerts, readPem, writeAcl, type CertFiles } from '../helpers/certs.js';
import { startTestServer, type TestServer } from '../helpers/api-server.js';
import { TempDirs } from '../helpers/temp-dir.js';

const temp = new TempDirs();
let certs: CertFiles;
let server: TestServer;

beforeAll(async () => {
  certs = generateCerts(await temp.make('replog-certs-'));
  const acl = writeAcl(certs.dir, 'p, root, *, produce\np, root, *, consume\n');
  server = await startTestServer({
    authorizer: await AclAuthorizer.fromFiles(acl.model, acl.policy),
    tls: { cert: readPem(certs.serverCert), key: readPem(certs.serverKey), ca: readPem(certs.caCert) },
  });
});

afterAll(async () => {
  await server.close();
  await temp.cleanup();
});

function clientAs(who: 'root' | 'nobody' | 'rogue' | 'none'): LogClient {
  const ca = readPem(certs.caCert);
  const creds = who === 'none'
    ? ChannelCredentials.createSsl(ca)
    : ChannelCredentials.createSsl(ca, readPem(certs.clients[who].key), readPem(certs.clients[who].cert));
  return new LogClient(server.addr, creds);
}

type Outcome = { code: number; details: string };

function produce(c: LogClient): Promise<Outcome> {
  return new Promise((resolve) =>
    c.produce({ record: { value: Buffer.from('v'), offset: 0n, term: 0n, type: 0 }, records: [], producerId: '', sequence: 0n }, new Metadata(), { deadline: Date.now() + 10_000 }, (e: ServiceError | null, _r: ProduceResponse) =>
      resolve(e ? { code: e.code, details: e.details } : { code: status.OK, details: '' }),
    ),
  );
}

function consume(c: LogClient): Promise<Outcome> {
  return new Promise((resolve) =>
    c.consume({ offset: 0n, maxBatchRecords: 0, maxBatchBytes: 0, maxWaitMs: 0, linearizable: false }, new Metadata(), { deadline: Date.now() + 10_000 }, (e: ServiceError | null, _r: ConsumeResponse) =>
      resolve(e ? { code: e.code, details: e.details } : { code: status.OK, details: '' }),
    ),
  );
}

describe('mTLS + ACL', () => {
  it('CN root may produce and consume', async () => {
    const c = clientAs('root');
    try {
      expect(await produce(c)).toEqual({ code: status.OK, details: '' });
      expect((await consume(c)).code).toBe(status.OK);
    } finally {
      c.close();
    }
  });

  it('CN nobody gets PERMISSION_DENIED on produce and on consume', async () => {
    const c = clientAs('nobody');
    try {
      const p = await produce(c);
      expect(p.code).toBe(status.PERMISSION_DENIED);
      expect(p.details).toContain('nobody');
      expect((await consume(c)).code).toBe(status.PERMISSION_DENIED);
    } finally {
      c.close();
    }
  });

  it('no client certificate -> UNAUTHENTICATED', async () => {
    const c = clientAs('none');
    try {
      expect((await produce(c)).code).toBe(status.UNAUTHENTICATED);
      expect((await consume(c)).code).toBe(status.UNAUTHENTICATED);
    } finally {
      c.close();
    }
  });

  it('a certificate from an unknown CA (even with CN root) is refused', async () => {
    const c = clientAs('rogue');
    try {
      expect((await produce(c)).code).toBe(status.UNAUTHENTICATED);
      expect((await consume(c)).code).toBe(status.UNAUTHENTICATED);
    } finally {
      c.close();
    }
  });

  it('a plaintext client cannot talk to the TLS port', async () => {
    const c = new LogClient(server.addr, ChannelCredentials.createInsecure());
    try {
      expect((await produce(c)).code).toBe(status.UNAVAILABLE);
    } finally {
      c.close();
    }
  });

  it('a policy with subject * grants everyone', async () => {
    const acl = writeAcl(await temp.make(), 'p, *, *, consume\n');
    const authz = await AclAuthorizer.fromFiles(acl.model, acl.policy);
    expect(authz.allowed('anyone', 'consume')).toBe(true);
    expect(authz.allowed('anyone', 'produce')).toBe(false);
  });

  it('a model that does not parse is a ConfigError naming the option', async () => {
    const dir = await temp.make();
    const acl = writeAcl(dir, 'p, root, *, produce\n');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(acl.model, '[matchers]\nm = r.sub ==\n');
    await expect(AclAuthorizer.fromFiles(acl.model, acl.policy)).rejects.toThrow(/--acl-(model|policy)-file/);
  });
});
