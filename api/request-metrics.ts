import type { FastifyInstance } from 'fastify';

export interface RequestLabels {
  /** The route template (`/api/v1/devices/:id`), never the URL: one series per route, not per device. */
  route: string;
  method: string;
  /** 2xx, 3xx, 4xx or 5xx. */
  status_class: string;
}

/** Requests no route matched (scanners, typos) share one label, so they cannot grow the series. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Reports every answered request, with its duration in seconds, to `observe` (serve: SelfMetrics.httpRequest). */
export function measureRequests(app: FastifyInstance, observe: (labels: RequestLabels, seconds: number) => void): void {
  app.addHook('onResponse', async (request, reply) => {
    observe(
      {
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        method: request.method,
        status_class: `${Math.floor(reply.statusCode / 100)}xx`,
      },
      reply.elapsedTime / 1000,
    );
  });
}
