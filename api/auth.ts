import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { roleRank, ROLES, type ApiKeyInfo, type Inventory } from '../collector/inventory/index.ts';
import type { AccessTable } from './access-table.ts';
import { AuthFailureLimiter } from './auth-failures.ts';
import { ApiError, apiErrors } from './errors.ts';

/**
 * Access control every route goes through. A route declares who may call it in its config:
 *
 *   { config: { minRole: 'admin', action: 'devices.create' } }
 *
 * `minRole` is required on every route (`'public'` for the few open ones); `action` is
 * required on every mutating route and names it in the audit log. A route that forgets either
 * fails at start-up, not in production.
 */
import type { Access } from './access-table.ts';
export type { Access };

declare module 'fastify' {
  interface FastifyContextConfig {
    minRole?: Access;
    action?: string;
  }
  interface FastifyRequest {
    /** The API key that made the request, once authenticated. */
    principal: ApiKeyInfo | null;
    /** Set by `identify`; private to this module and the rate limiter. */
    [AUTH]: AuthState | null;
  }
}

export const AUTH = Symbol('fleetpulse.auth');

type AuthState =
  | { kind: 'none' }
  | { kind: 'key'; key: ApiKeyInfo }
  | { kind: 'invalid'; message: string }
  /** Too many failed authentications from this address: no key is checked. */
  | { kind: 'blocked'; retryAfterS: number };

/** Why an authentication failed, as counted in `fleetpulse_auth_failures_total`. */
export type AuthFailureReason = 'missing_key' | 'malformed_header' | 'invalid_key' | 'blocked';

export interface AuthOptions {
  /** Failed authentications allowed per source address per window. */
  failures: { max: number; timeWindowMs: number };
  onFailure?: (reason: AuthFailureReason) => void;
  /** Filled with every route's `minRole`, for callers outside the API that show what a key may do. */
  access?: AccessTable;
  /** Tokens other than API keys that stand for one (the operator pages' sessions). */
  sessions?: { verify(token: string): ApiKeyInfo | null };
}

/** The address a request comes from, as the limiter and the audit see it. */
export function sourceAddress(request: FastifyRequest): string {
  return request.ip;
}

export const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function installAuth(
  app: FastifyInstance,
  inventory: Inventory,
  publicPrefixes: readonly string[],
  options: AuthOptions,
): void {
  const limiter = new AuthFailureLimiter(options.failures.max, options.failures.timeWindowMs);
  const failed = (reason: AuthFailureReason) => options.onFailure?.(reason);
  app.decorateRequest('principal', null);
  app.decorateRequest(AUTH, null);

  app.addHook('onRoute', (route: RouteOptions) => {
    route.config ??= {};
    const config = route.config as { minRole?: Access; action?: string };
    if (publicPrefixes.some((p) => route.url.startsWith(p))) config.minRole ??= 'public';
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const where = `${methods.join(',')} ${route.url}`;
    if (config.minRole === undefined) throw new Error(`route ${where} does not declare config.minRole`);
    if (config.minRole !== 'public' && !(ROLES as readonly string[]).includes(config.minRole)) {
      throw new Error(`route ${where}: unknown minRole '${config.minRole}'`);
    }
    for (const m of methods) options.access?.record(m, route.url, config.minRole);
    if (methods.some((m) => MUTATING.has(m)) && !config.action)
      throw new Error(`mutating route ${where} does not declare config.action`);
    if (config.minRole !== 'public' && route.schema && !(route.schema as { hide?: boolean }).hide) {
      const schema = route.schema as Record<string, unknown>;
      schema.security = [{ bearer: [] }];
      const note = `Requires role \`${config.minRole}\` or higher.`;
      schema.description = schema.description ? `${schema.description as string}\n\n${note}` : note;
    }
  });

  // 1. Who is calling: cheap checks only (no password hash), so that the rate limiter (next) can
  // key on the key. An address over its failure limit gets no check at all.
  app.addHook('onRequest', async (request) => {
    // Public routes authenticate their callers themselves (the incident webhook's Bearer is
    // Grafana's shared secret, not an API key): do not spend a key check on them.
    const header = request.routeOptions.config?.minRole === 'public' ? undefined : request.headers.authorization;
    if (header === undefined) {
      request[AUTH] = { kind: 'none' };
      return;
    }
    const source = sourceAddress(request);
    const retryAfterS = limiter.blockedFor(source);
    if (retryAfterS > 0) {
      failed('blocked');
      request[AUTH] = { kind: 'blocked', retryAfterS };
      return;
    }
    const state = identify(header, inventory, options.sessions);
    if (state.kind === 'invalid') {
      limiter.failed(source);
      failed(state.message === MALFORMED ? 'malformed_header' : 'invalid_key');
    }
    request[AUTH] = state;
  });

  // 3. (after the rate limiter) May they: before the body is even read.
  app.addHook('preParsing', async (request, reply) => {
    const state = request[AUTH] ?? { kind: 'none' };
    if (state.kind === 'key') request.principal = state.key;
    // An unknown path is a 404 for everyone: no route, nothing to protect.
    if (request.is404) return;
    const minRole = request.routeOptions.config.minRole ?? 'admin';
    if (state.kind === 'blocked' && minRole !== 'public') {
      void reply.header('retry-after', String(state.retryAfterS));
      throw new ApiError(
        'FP_RATE_LIMITED',
        `too many failed authentications from this address; retry in ${state.retryAfterS} s`,
        undefined,
        {
          retry_after_s: state.retryAfterS,
        },
      );
    }
    if (state.kind === 'none' && minRole !== 'public') failed('missing_key');
    authorize(minRole, state);
  });
}

const MALFORMED = 'the Authorization header must be "Bearer <API key>"';

function identify(header: string, inventory: Inventory, sessions: AuthOptions['sessions']): AuthState {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) return { kind: 'invalid', message: MALFORMED };
  const key = inventory.apiKeys.verify(m[1]) ?? sessions?.verify(m[1]) ?? null;
  return key ? { kind: 'key', key } : { kind: 'invalid', message: 'the API key is not valid or has been revoked' };
}

/** Whether the request presented a key that failed (the audit records these on every route). */
export function failedAuthentication(request: FastifyRequest): boolean {
  return request[AUTH]?.kind === 'invalid';
}

function authorize(minRole: Access, state: AuthState): void {
  if (minRole === 'public') return;
  if (state.kind === 'none')
    throw apiErrors.unauthenticated('this route needs an API key: send "Authorization: Bearer <key>"');
  if (state.kind !== 'key')
    throw apiErrors.unauthenticated(state.kind === 'invalid' ? state.message : 'not authenticated');
  if (roleRank(state.key.role) < roleRank(minRole)) {
    throw apiErrors.forbidden(
      `this route needs role '${minRole}' or higher; key '${state.key.name}' has role '${state.key.role}'`,
      {
        required: minRole,
        role: state.key.role,
      },
    );
  }
}

/** The rate limiter's bucket: the API key when it is known and valid, else the address. */
export function rateLimitKey(request: FastifyRequest): string {
  const state = request[AUTH];
  return state?.kind === 'key' ? `key:${state.key.id}` : `ip:${sourceAddress(request)}`;
}
