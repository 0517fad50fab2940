/**
 * The CA of `plugins.ocpp.ca`: it issues the client certificates chargers present at security
 * profile 3, and the handshake trusts only certificates it issued. CSRs (SignCertificate) are
 * signed by the `openssl` CLI: node:crypto parses X.509 but cannot issue it.
 */
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PluginConfigError } from '../../collector/sdk/index.ts';
import type { OcppConfig } from './config.ts';

export class ChargerCa {
  readonly pem: Buffer;
  readonly cert: X509Certificate;

  private constructor(
    readonly certFile: string,
    readonly keyFile: string | undefined,
  ) {
    try {
      this.pem = readFileSync(certFile);
      this.cert = new X509Certificate(this.pem);
    } catch (err) {
      throw new PluginConfigError(
        'ocpp',
        'ca.cert',
        `${certFile} is not a readable PEM certificate: ${(err as Error).message}`,
      );
    }
    if (!this.cert.ca) throw new PluginConfigError('ocpp', 'ca.cert', `${certFile} is not a CA certificate`);
  }

  /**
   * Signs a charger's CSR (PEM) for `days`, after checking its own signature and that its
   * subject names the charger: exactly one CN, equal to `identity` (other attributes such as O
   * are kept). A charger gets a certificate for itself only, as the handshake binds the identity
   * to that CN. Returns the PEM chain (the certificate, then the CA) and the certificate, or why not.
   */
  async sign(
    csr: string,
    identity: string,
    days: number,
  ): Promise<{ chain: string; cert: X509Certificate } | { refused: string }> {
    if (!this.keyFile) return { refused: 'plugins.ocpp.ca.key is not configured' };
    const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-csr-'));
    try {
      const request = join(dir, 'charger.csr');
      writeFileSync(request, csr);
      let subject: string;
      try {
        subject = (await run(['req', '-in', request, '-noout', '-verify', '-subject', '-nameopt', 'RFC2253']))
          .trim()
          .replace(/^subject=/, '');
      } catch {
        return { refused: 'not a valid CSR (unreadable, or its signature does not verify)' };
      }
      const names = subject.split(/(?<!\\),/).filter((rdn) => rdn.startsWith('CN='));
      if (names.length !== 1 || names[0] !== `CN=${identity}`)
        return { refused: `the CSR names ${subject || 'nobody'}, not CN=${identity}` };
      const ext = join(dir, 'charger.ext');
      writeFileSync(
        ext,
        'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=clientAuth\n',
      );
      // A random positive serial: certificates of one CA must never share one.
      const serial = `0x${(randomBytes(1)[0] & 0x7f).toString(16).padStart(2, '0')}${randomBytes(15).toString('hex')}`;
      const pem = await run([
        'x509',
        '-req',
        '-in',
        request,
        '-CA',
        this.certFile,
        '-CAkey',
        this.keyFile,
        '-set_serial',
        serial,
        '-days',
        String(days),
        '-extfile',
        ext,
      ]);
      return { chain: pem + this.pem.toString('utf8'), cert: new X509Certificate(pem) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  static of(config: OcppConfig['ca']): ChargerCa | undefined {
    if (!config.cert) {
      if (config.key) throw new PluginConfigError('ocpp', 'ca.key', 'needs ca.cert beside it');
      return undefined;
    }
    return new ChargerCa(config.cert, config.key);
  }
}

async function run(args: string[]): Promise<string> {
  return (await promisify(execFile)('openssl', args, { encoding: 'utf8', timeout: 10_000 })).stdout;
}
