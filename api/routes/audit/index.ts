import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditEntry } from '../../../collector/inventory/index.ts';
import { decodeCursor, encodeCursor, isNumber } from '../../cursor.ts';
import { apiErrors } from '../../errors.ts';
import type { RouteContext } from '../../options.ts';
import { Cursor, Limit, ms, Nullable, PageOf, StringEnum, Timestamp } from '../../schemas.ts';

const AuditJson = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  actor: Nullable(Type.String({ description: 'API key id; null without a valid key' })),
  actor_name: Nullable(Type.String()),
  role: Nullable(Type.String()),
  action: Type.String({ description: 'e.g. devices.create' }),
  target: Nullable(Type.String()),
  method: Nullable(Type.String()),
  path: Nullable(Type.String()),
  status: Nullable(Type.Integer()),
  result: StringEnum(['ok', 'denied', 'failed'] as const),
  source: Nullable(Type.String({ description: "The caller's address" })),
  details: Nullable(Type.Record(Type.String(), Type.Unknown())),
});

const AuditQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive' })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'API key id or name' })),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    cursor: Type.Optional(Cursor),
    limit: Limit(500, 100),
  },
  { additionalProperties: false },
);

function auditJson(e: AuditEntry) {
  return { ...e, at: ms(e.at)! };
}

const audit: FastifyPluginAsyncTypebox<RouteContext> = async (app, { inventory }) => {
  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first',
        description:
          'Every mutating request, allowed or denied: who, role, action, target, result, source address, time.',
        querystring: AuditQuery,
        response: { 200: PageOf(AuditJson) },
      },
      config: { minRole: 'admin' },
    },
    async (request) => {
      const { from, to, actor, target, action, cursor, limit } = request.query;
      const fromMs = from === undefined ? undefined : Date.parse(from);
      const toMs = to === undefined ? undefined : Date.parse(to);
      if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs)
        throw apiErrors.validation('to', 'must be after from');
      const before = cursor === undefined ? undefined : decodeCursor(cursor, 'audit', isNumber);
      const page = inventory.audit.list({ from: fromMs, to: toMs, actor, target, action, before, limit });
      const last = page.items.at(-1);
      return {
        items: page.items.map(auditJson),
        next_cursor: page.more && last ? encodeCursor('audit', last.id) : null,
      };
    },
  );
};

export default audit;
