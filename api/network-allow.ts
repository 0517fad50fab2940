import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { UpgradeGate } from '../collector/runtime/shared-server.ts';
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
    const raw = rawPath(request.url);
    const prefix = operatorPath(raw, request.routeOptions.url ?? '');
    if (!prefix || allowed(request.ip)) return;
    onRefused();
    request.log.warn({ client: request.ip, path: raw }, 'request from a network outside http.allow refused');
    const error = refusal(request.ip, prefix);
    return reply.status(error.statusCode).send(error.toBody());
  });
}

/**
 * The same rule for WebSocket upgrades (`SharedServer`'s gate): an upgrade under an operator path
 * from outside `allowed` is answered 403 FP_NETWORK_NOT_ALLOWED before any plugin sees it. There
 * is no route to match, so the path is also checked percent-decoded.
 */
export function upgradeNetworkAllowList(
  allowed: (address: string) => boolean,
  onRefused: () => void,
  log: { warn(o: object, msg: string): void },
): UpgradeGate {
  return (request: IncomingMessage, client: string) => {
    const raw = rawPath(request.url ?? '/');
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw).toLowerCase();
    } catch {
      // Not decodable: the raw path is what any handler would see.
    }
    const prefix = operatorPath(raw, decoded);
    if (!prefix || allowed(client)) return undefined;
    onRefused();
    log.warn({ client, path: raw }, 'WebSocket upgrade from a network outside http.allow refused');
    const error = refusal(client, prefix);
    return { status: error.statusCode, body: error.toBody() };
  };
}

const rawPath = (url: string) => url.split('?')[0].toLowerCase();
const operatorPath = (...paths: string[]) => OPERATOR_PATHS.find((p) => paths.some((path) => path.startsWith(p)));
const refusal = (client: string, prefix: string) =>
  new ApiError('FP_NETWORK_NOT_ALLOWED', `requests from ${client} may not use ${prefix}; see http.allow`);
