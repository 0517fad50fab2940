import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Routes that devices or monitors call all day (`/healthz`, `/metrics`, webhook ingest): their
     * successes are logged at debug, their failures at info like any other request.
     */
    quietLog?: boolean;
  }
}

/**
 * One log line per request, when it has been answered (Fastify's own request logging, with
 * `disableRequestLogging`, would write two: one on arrival and one on response).
 */
export function logRequests(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const quiet = request.routeOptions.config.quietLog === true && reply.statusCode < 400;
    const ms = Math.round(reply.elapsedTime * 10) / 10;
    request.log[quiet ? 'debug' : 'info'](
      { method: request.method, url: request.url, statusCode: reply.statusCode, responseTimeMs: ms },
      `${request.method} ${request.url} ${reply.statusCode} ${ms} ms`,
    );
  });
}
