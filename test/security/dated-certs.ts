/**
 * Client certificates with chosen validity dates (expired, not yet valid), signed by the test CA
 * of test/helpers/certs.ts with `openssl ca -startdate/-enddate` (OpenSSL 3.0 has no
 * `x509 -not_before`).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const caConfig = `[ca]
default_ca = test
[test]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[client]
extendedKeyUsage = clientAuth
`;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes `<name>.pem`/`<name>.key` in `dir` (which holds ca.pem/ca.key) valid from `start` to `end` (YYYYMMDDHHMMSSZ). */
export function datedClientCert(dir: string, name: string, cn: string, start: string, end: string): { cert: string; key: string } {
  writeFileSync(join(dir, 'dated-ca.cnf'), caConfig);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  openssl(['ca', '-batch', '-config', 'dated-ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.pem`, '-startdate', start, '-enddate', end, '-extensions', 'client', '-notext'], dir);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}
