import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditResult, Inventory } from '../collector/inventory/index.ts';
import { AUTH, failedAuthentication } from './auth.ts';

declare module 'fastify' {
  interface FastifyRequest {
    [AUDIT]: { target?: string | null; details?: Record<string, unknown> } | null;
  }
}

const AUDIT = Symbol('fleetpulse.audit');

/**
 * What a mutating handler adds to its audit row: the target when it is not the `:id` in the
 * path (a created resource's new id), and details worth keeping (changed fields, counts).
 */
export function auditNote(
  request: FastifyRequest,
  note: { target?: string | null; details?: Record<string, unknown> },
): void {
  request[AUDIT] = { ...request[AUDIT], ...note };
}

/**
 * One audit row for every call of a route that declares `config.action`, whatever became of
 * it: carried out, refused (no key, wrong role, rate limit), invalid, or failed; and one
 * `auth.refused` row for a wrong or malformed key on any other route.
 */
export function installAudit(app: FastifyInstance, inventory: Inventory): void {
  app.decorateRequest(AUDIT, null);
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    // A failed key lands here on every route, not only mutating ones: at most the failure
    // limit's worth per address and window, since an address over it is not checked.
    const action = request.routeOptions.config.action ?? (failedAuthentication(request) ? 'auth.refused' : undefined);
    if (!action) return;
    const status = reply.statusCode;
    const note = request[AUDIT];
    const auth = request[AUTH];
    const key = request.principal ?? (auth?.kind === 'key' ? auth.key : null);
    // An integer `:id` (coerced by its schema) would be bound as a double and stored as "9.0".
    const params = (request.params ?? {}) as Record<string, string | number | undefined>;
    try {
      inventory.audit.record({
        actor: key?.id ?? null,
        actor_name: key?.name ?? null,
        role: key?.role ?? null,
        action,
        target: note?.target !== undefined ? note.target : params.id === undefined ? null : String(params.id),
        method: request.method,
        path: request.url.split('?')[0],
        status,
        result: resultOf(status),
        source: request.ip,
        details: note?.details ?? null,
      });
    } catch (err) {
      request.log.error({ err, action }, 'could not write the audit row');
    }
  });
}

function resultOf(status: number): AuditResult {
  if (status < 400) return 'ok';
  if (status === 401 || status === 403 || status === 429) return 'denied';
  return 'failed';
}
