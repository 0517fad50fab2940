import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { decodeCursor, encodeCursor, isNumber } from '../../cursor.ts';
import { apiErrors } from '../../errors.ts';
import type { RouteContext } from '../../options.ts';
import { PageOf } from '../../schemas.ts';
import { auditJson, AuditJson, AuditQuery } from './schemas.ts';

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
