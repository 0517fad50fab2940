import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.ts';

/**
 * What only operators use: the API (its docs and OpenAPI included), the metrics, and any page
 * for people under /ui/. Devices (/ocpp/, /agent/, webhooks) and /healthz are not listed: a
 * charger or a store PC connects from wherever it is, and a load balancer probes /healthz.
 */
export const OPERATOR_PATHS = ['/api/', '/metrics', '/ui/'];

/**
 * Refuses operator paths to clients outside `allowed` (`http.allow`) with 403
 * FP_NETWORK_NOT_ALLOWED, before any key is looked at. The client is `request.ip`, so behind a
 * trusted proxy it is the forwarded address. Both the matched route and the raw path are checked,
 * so a percent-encoded or differently cased path cannot reach an operator route around the list.
 */
export function installNetworkAllowList(
  app: FastifyInstance,
  allowed: (address: string) => boolean,
  onRefused: () => void,
): void {
  app.addHook('onRequest', async (request, reply) => {
    const raw = request.url.split('?')[0].toLowerCase();
    const route = request.routeOptions.url ?? '';
    const prefix = OPERATOR_PATHS.find((p) => raw.startsWith(p) || route.startsWith(p));
    if (!prefix || allowed(request.ip)) return;
    onRefused();
    request.log.warn({ client: request.ip, path: raw }, 'request from a network outside http.allow refused');
    const error = new ApiError(
      'FP_NETWORK_NOT_ALLOWED',
      `requests from ${request.ip} may not use ${prefix}; see http.allow`,
    );
    return reply.status(error.statusCode).send(error.toBody());
  });
}
