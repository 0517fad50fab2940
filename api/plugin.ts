import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyPluginAsync, RouteOptions } from 'fastify';
import { installAudit } from './audit.ts';
import { installAuth, rateLimitKey } from './auth.ts';
import { installErrorHandling } from './errors-handler.ts';
import { DEFAULT_LIMITS, type ApiOptions, type RouteContext } from './options.ts';
import auditRoutes from './routes/audit/index.ts';
import credentialRoutes from './routes/credentials/index.ts';
import customerRoutes from './routes/customers/index.ts';
import deviceRoutes from './routes/devices/index.ts';
import keyRoutes from './routes/keys/index.ts';
import siteRoutes from './routes/sites/index.ts';
import commandRoutes from './routes/commands/index.ts';
import maintenanceRoutes from './routes/maintenance/index.ts';
import incidentRoutes from './routes/incidents/index.ts';
import reportRoutes from './routes/reports/index.ts';
import firmwareRoutes from './routes/firmware/index.ts';
import rolloutRoutes from './routes/rollouts/index.ts';
import backupRoutes from './routes/backups/index.ts';
import sessionRoutes from './routes/sessions/index.ts';
import { ErrorBody } from './schemas.ts';
import { validatorCompiler } from './validation.ts';

/**
 * The API as a Fastify plugin, to mount on any server:
 *
 *   server.register(apiPlugin, { prefix: '/api/v1', inventory, kinds, influx })
 *
 * Everything it sets up (validation, errors, auth, rate limit, audit, the CSV parser, OpenAPI)
 * is scoped to it and leaves the host server's other routes alone.
 */
export const apiPlugin: FastifyPluginAsync<ApiOptions> = async (app, opts) => {
  const ctx: RouteContext = {
    inventory: opts.inventory,
    kinds: [...opts.kinds],
    influx: opts.influx,
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    checkDevice: opts.checkDevice ?? (async () => undefined),
  };

  app.setValidatorCompiler(validatorCompiler);
  installErrorHandling(app, opts.onDatabaseError);
  app.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  );
  app.addSchema(ErrorBody);

  app.addHook('onRoute', (route: RouteOptions) => {
    route.bodyLimit ??= ctx.limits.bodyLimit;
    addErrorResponses(route);
  });
  installAuth(app, ctx.inventory, [`${app.prefix}/docs`], {
    failures: ctx.limits.authFailures,
    onFailure: opts.onAuthFailure,
    access: opts.access,
    sessions: opts.sessions,
  });
  await app.register(rateLimit, {
    max: ctx.limits.rateLimit.max,
    timeWindow: ctx.limits.rateLimit.timeWindowMs,
    keyGenerator: rateLimitKey,
  });
  installAudit(app, ctx.inventory);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Fleetpulse API',
        version: '1',
        description: describeApi(opts),
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key: `fpk_...`' } },
      },
    },
  });
  // indexPrefix: the page's asset links must carry the prefix the API is mounted under.
  await app.register(swaggerUi, { routePrefix: '/docs', indexPrefix: app.prefix });

  app.get('/openapi.json', { schema: { hide: true }, config: { minRole: 'public' } }, async () => app.swagger());

  await app.register(customerRoutes, ctx);
  await app.register(siteRoutes, ctx);
  await app.register(deviceRoutes, ctx);
  await app.register(credentialRoutes, ctx);
  await app.register(keyRoutes, ctx);
  await app.register(auditRoutes, ctx);
  const { operations } = opts;
  if (operations) {
    await app.register(commandRoutes, { operations });
    await app.register(maintenanceRoutes, { operations });
    await app.register(incidentRoutes, { operations });
    await app.register(reportRoutes, { operations });
    await app.register(firmwareRoutes, { operations });
    await app.register(rolloutRoutes, { operations });
    await app.register(sessionRoutes, { scheduler: operations.sessions });
  }
  if (opts.backups) await app.register(backupRoutes, opts.backups);
  await opts.extend?.(app);
};

/** What this API serves, for the OpenAPI document: the core routes and the optional parts it was given. */
function describeApi(opts: ApiOptions): string {
  const parts = ['customers, sites, devices, their credentials, API keys and the audit log'];
  if (opts.operations)
    parts.push(
      'durable commands, firmware and rollouts, maintenance windows, incidents, uptime reports and timed sessions',
    );
  if (opts.backups) parts.push('backups');
  return `The Fleetpulse API: ${parts.join('; ')}; plus the API routes the installed plugins add. See docs/api.md.`;
}

/** Every route documents the error shape for 4xx and 5xx. */
function addErrorResponses(route: RouteOptions): void {
  const schema = route.schema as { hide?: boolean; response?: Record<string, unknown> } | undefined;
  if (!schema || schema.hide) return;
  schema.response ??= {};
  schema.response['4xx'] ??= { $ref: 'ErrorBody#' };
  schema.response['5xx'] ??= { $ref: 'ErrorBody#' };
}

export type { FastifyInstance };
