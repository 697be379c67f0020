/**
 * Test certificates made with openssl 3 into a temp dir (no private key is committed): a CA, a
 * server certificate for 127.0.0.1/localhost, client certificates whose CN is the identity, and a
 * second, unknown CA with a client certificate of its own.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** Client cert/key file pairs by CN; `rogue` is signed by an unknown CA (CN root). */
  clients: Record<'root' | 'nobody' | 'rogue', { cert: string; key: string }>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-out', `${name}.pem`], dir);
}

function makeLeaf(dir: string, ca: string, name: string, cn: string, ext: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`],
    dir,
  );
}

export function generateCerts(dir: string): CertFiles {
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue-ca');
  makeLeaf(dir, 'ca', 'server', 'replog-server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const clientExt = 'extendedKeyUsage=clientAuth\n';
  makeLeaf(dir, 'ca', 'root', 'root', clientExt);
  makeLeaf(dir, 'ca', 'nobody', 'nobody', clientExt);
  makeLeaf(dir, 'rogue-ca', 'rogue', 'root', clientExt);
  const pair = (n: string): { cert: string; key: string } => ({ cert: join(dir, `${n}.pem`), key: join(dir, `${n}.key`) });
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clients: { root: pair('root'), nobody: pair('nobody'), rogue: pair('rogue') },
  };
}

/** proglog's ACL: `p, root, *, produce` ... */
export function writeAcl(dir: string, policy: string): { model: string; policy: string } {
  const model = join(dir, 'model.conf');
  writeFileSync(
    model,
    '[request_definition]\nr = sub, obj, act\n\n[policy_definition]\np = sub, obj, act\n\n[policy_effect]\ne = some(where (p.eft == allow))\n\n[matchers]\nm = r.sub == p.sub && r.obj == p.obj && r.act == p.act\n',
  );
  const policyFile = join(dir, 'policy.csv');
  writeFileSync(policyFile, policy);
  return { model, policy: policyFile };
}

export function readPem(path: string): Buffer {
  return readFileSync(path);
}
