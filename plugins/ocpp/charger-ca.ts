/**
 * The CA of `plugins.ocpp.ca`: it issues the client certificates chargers present at security
 * profile 3, and the handshake trusts only certificates it issued.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
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

  static of(config: OcppConfig['ca']): ChargerCa | undefined {
    if (!config.cert) {
      if (config.key) throw new PluginConfigError('ocpp', 'ca.key', 'needs ca.cert beside it');
      return undefined;
    }
    return new ChargerCa(config.cert, config.key);
  }
}
