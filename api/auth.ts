import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { roleRank, ROLES, type ApiKeyInfo, type Inventory, type Role } from '../collector/inventory/index.ts';
import { apiErrors } from './errors.ts';

/**
 * Access control every route goes through. A route declares who may call it in its config:
 *
 *   { config: { minRole: 'admin', action: 'devices.create' } }
 *
 * `minRole` is required on every route (`'public'` for the few open ones); `action` is
 * required on every mutating route and names it in the audit log. A route that forgets either
 * fails at start-up, not in production.
 */
export type Access = Role | 'public';

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
  /** An operator-chosen key: only scrypt can tell, after the rate limiter. */
  | { kind: 'slow'; token: string };

export const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function installAuth(app: FastifyInstance, inventory: Inventory, publicPrefixes: readonly string[]): void {
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
    if (methods.some((m) => MUTATING.has(m)) && !config.action) throw new Error(`mutating route ${where} does not declare config.action`);
    if (config.minRole !== 'public' && route.schema && !(route.schema as { hide?: boolean }).hide) {
      const schema = route.schema as Record<string, unknown>;
      schema.security = [{ bearer: [] }];
      const note = `Requires role \`${config.minRole}\` or higher.`;
      schema.description = schema.description ? `${schema.description as string}\n\n${note}` : note;
    }
  });

  // 1. Who is calling: cheap checks only, so that the rate limiter (next) can key on the key.
  app.addHook('onRequest', async (request) => {
    // Public routes authenticate their callers themselves (the incident webhook's Bearer is
    // Grafana's shared secret, not an API key): do not spend a key check on them.
    request[AUTH] = request.routeOptions.config?.minRole === 'public' ? { kind: 'none' } : identify(request, inventory);
  });

  // 3. (after the rate limiter) May they: before the body is even read.
  app.addHook('preParsing', async (request) => {
    let state = request[AUTH] ?? { kind: 'none' };
    if (state.kind === 'slow') {
      const key = await inventory.apiKeys.verifySlow(state.token);
      state = key ? { kind: 'key', key } : { kind: 'invalid', message: 'the API key is not valid or has been revoked' };
      request[AUTH] = state;
    }
    if (state.kind === 'key') request.principal = state.key;
    // An unknown path is a 404 for everyone: no route, nothing to protect.
    if (request.is404) return;
    authorize(request.routeOptions.config.minRole ?? 'admin', state);
  });
}

function identify(request: FastifyRequest, inventory: Inventory): AuthState {
  const header = request.headers.authorization;
  if (header === undefined) return { kind: 'none' };
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) return { kind: 'invalid', message: 'the Authorization header must be "Bearer <API key>"' };
  const key = inventory.apiKeys.verifyFast(m[1]!);
  if (key === undefined) return { kind: 'slow', token: m[1]! };
  return key ? { kind: 'key', key } : { kind: 'invalid', message: 'the API key is not valid or has been revoked' };
}

function authorize(minRole: Access, state: AuthState): void {
  if (minRole === 'public') return;
  if (state.kind === 'none') throw apiErrors.unauthenticated('this route needs an API key: send "Authorization: Bearer <key>"');
  if (state.kind !== 'key') throw apiErrors.unauthenticated(state.kind === 'invalid' ? state.message : 'not authenticated');
  if (roleRank(state.key.role) < roleRank(minRole)) {
    throw apiErrors.forbidden(`this route needs role '${minRole}' or higher; key '${state.key.name}' has role '${state.key.role}'`, {
      required: minRole,
      role: state.key.role,
    });
  }
}

/** The rate limiter's bucket: the API key when it is known and valid, else the address. */
export function rateLimitKey(request: FastifyRequest): string {
  const state = request[AUTH];
  return state?.kind === 'key' ? `key:${state.key.id}` : `ip:${request.ip}`;
}
