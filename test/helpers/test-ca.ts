/**
 * Certificates for TLS tests, made by the `openssl` CLI (node:crypto parses X.509 but cannot
 * issue it; scripts/setup installs openssl): a CA, and server certificates it signs for
 * 127.0.0.1 and localhost, each with its own key.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  /** PEM file of the CA certificate, for clients to trust. */
  readonly cert: string;
  readonly key: string;
}

export interface ServerCert {
  /** PEM files. */
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint as Node prints it (`AB:CD:...`), what `getPeerCertificate().fingerprint256` says. */
  readonly fingerprint256: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCa(dir: string, name = 'Fleetpulse Test CA'): TestCa {
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    ca.key,
    '-out',
    ca.cert,
  ]);
  return ca;
}

/** A server certificate for 127.0.0.1 and localhost signed by `ca`, as `<dir>/<name>.crt|.key`. */
export function issueServerCert(ca: TestCa, dir: string, name: string): ServerCert {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    key,
    '-out',
    csr,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { cert, key, fingerprint256: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

/** A TLS client certificate for `cn` (an OCPP charger identity) signed by `ca`, as `<dir>/<name>.crt|.key`. */
export function issueClientCert(ca: TestCa, dir: string, name: string, cn = name): ServerCert {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, 'extendedKeyUsage=clientAuth\n');
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`].concat([
      '-keyout',
      key,
      '-out',
      csr,
    ]),
  );
  openssl(
    ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2'].concat([
      '-extfile',
      ext,
      '-out',
      cert,
    ]),
  );
  return { cert, key, fingerprint256: new X509Certificate(readFileSync(cert)).fingerprint256 };
}
