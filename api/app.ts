import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { DEFAULT_LIMITS, type ApiOptions } from './options.ts';
import { apiPlugin } from './plugin.ts';
import { logRequests } from './request-log.ts';

export interface BuildOptions extends ApiOptions {
  /** A pino logger for requests. Default: none (quiet, for tests and embedding). */
  logger?: Logger;
  /** Trust X-Forwarded-For for the audit's source address (behind a proxy). Default false. */
  trustProxy?: boolean;
}

/**
 * A Fastify app serving the API under /api/v1, not listening. Tests call `app.inject()`;
 * `fleetpulse serve` mounts `apiPlugin` on its shared server instead.
 */
export function build(opts: BuildOptions): FastifyInstance {
  const loggerInstance: FastifyBaseLogger | undefined = opts.logger;
  const app = Fastify({
    ...(loggerInstance ? { loggerInstance, disableRequestLogging: true } : { logger: false }),
    bodyLimit: opts.limits?.bodyLimit ?? DEFAULT_LIMITS.bodyLimit,
    trustProxy: opts.trustProxy ?? false,
    // The API scope sets its own validator; these keep any route outside it just as strict.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true } },
  });
  if (opts.logger) logRequests(app);
  const { logger: _logger, trustProxy: _trustProxy, ...apiOptions } = opts;
  void app.register(apiPlugin, { prefix: '/api/v1', ...apiOptions });
  return app;
}
