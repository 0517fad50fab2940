import { readFileSync } from 'node:fs';
import type { ServerOptions as HttpsOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { networkList, NetworkListError, trustedProxies } from '../collector/runtime/client-address.ts';
import { ConfigError, type Config } from './config.ts';

/** TLS, trusted proxies and the allow-list of `http`, checked before anything starts. */
export function transportOf(config: Config) {
  const networks = (key: 'trust_proxy' | 'allow') => {
    try {
      return networkList(config.http[key]);
    } catch (err) {
      if (err instanceof NetworkListError) throw new ConfigError(`http.${key}: ${err.message}`);
      throw err;
    }
  };
  return {
    tls: tlsOptions(config.http.tls),
    proxies: trustedProxies(networks('trust_proxy')),
    allowed: config.http.allow.length > 0 ? networks('allow') : () => true,
  };
}

/**
 * serve's TLS: the certificate and key files of `http.tls`, read at start and again on SIGHUP,
 * so a renewed certificate (certbot, an internal CA) takes effect without a restart. Client
 * certificates (OCPP security profile 3) are asked for by the plugin that checks them
 * (`ctx.http.requestClientCertificates`).
 */
export function tlsOptions(tls: Config['http']['tls']): HttpsOptions | undefined {
  if (!tls.cert && !tls.key) return undefined;
  if (!tls.cert || !tls.key)
    throw new ConfigError(`http.tls: cert and key go together (${tls.cert ? 'key' : 'cert'} is missing)`);
  const options = { cert: readPem('http.tls.cert', tls.cert), key: readPem('http.tls.key', tls.key) };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new ConfigError(
      `http.tls: ${tls.cert} and ${tls.key} are not a certificate and its key (${(err as Error).message})`,
    );
  }
  return options;
}

function readPem(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * On SIGHUP, new connections get the certificate now in the files; open connections keep
 * theirs. A pair that cannot be read or does not match is refused with an error log, and the
 * server keeps the previous one. Returns the function that removes the handler.
 */
export function reloadOnSighup(
  server: { reloadTls(options: HttpsOptions): void },
  tls: Config['http']['tls'],
  log: Logger,
  onReload: (ok: boolean) => void,
): () => void {
  const reload = () => {
    try {
      server.reloadTls(tlsOptions(tls)!);
      log.info({ cert: tls.cert }, 'TLS certificate reloaded');
      onReload(true);
    } catch (err) {
      log.error(
        { cert: tls.cert, err: (err as Error).message },
        'TLS certificate reload failed; keeping the previous one',
      );
      onReload(false);
    }
  };
  process.on('SIGHUP', reload);
  return () => process.off('SIGHUP', reload);
}
