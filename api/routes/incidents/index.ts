import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { incidentStats } from '../../../collector/operations/incident-stats.ts';
import type { Operations } from '../../../collector/operations/operations.ts';
import { auditNote } from '../../audit.ts';
import { apiErrors } from '../../errors.ts';
import {
  affectedJson,
  AssignBody,
  CommentBody,
  eventJson,
  GrafanaWebhook,
  IncidentDetail,
  incidentJson,
  IncidentJson,
  IncidentListQuery,
  IncidentPage,
  IncidentParams,
  ResolveBody,
  StatsJson,
  StatsQuery,
  WebhookAnswer,
} from './schemas.ts';
import { incidentList } from './list.ts';

const tags = ['incidents'];

/**
 * Incidents: Grafana's webhook receiver (shared secret as `Authorization: Bearer <secret>`, the
 * way alerting/notifications.ts provisions it), list, detail with timeline, acknowledge, assign,
 * comment, resolve, and MTTA/MTTR. Register inside the API plugin: `app.register(incidentRoutes, { operations })`.
 */
const incidents: FastifyPluginAsyncTypebox<{ operations: Operations }> = async (app, { operations }) => {
  const store = operations.incidents;
  const secret = operations.webhookSecret;
  const expected = secret ? digest(secret) : undefined;

  app.post(
    '/incidents/webhook',
    {
      schema: {
        tags,
        summary: "Grafana's webhook contact point (shared secret, not an API key)",
        body: GrafanaWebhook,
        response: { 200: WebhookAnswer },
      },
      config: { minRole: 'public', action: 'incidents.webhook' },
      // The secret is checked before the body is parsed: a caller without it learns nothing.
      onRequest: async (request) => {
        const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? '');
        // Both sides hashed to the same length, then compared in constant time.
        if (!expected || !m || !timingSafeEqual(digest(m[1]), expected)) {
          throw apiErrors.unauthenticated(
            expected
              ? 'the webhook secret is missing or wrong (Authorization: Bearer <FLEETPULSE_INCIDENT_WEBHOOK_SECRET>)'
              : 'the incident webhook is disabled: FLEETPULSE_INCIDENT_WEBHOOK_SECRET is not set',
          );
        }
      },
    },
    async (request) => {
      const ids = new Set<number>();
      let created = 0;
      for (const alert of request.body.alerts) {
        const r = store.record(alert);
        ids.add(r.incident.id);
        if (r.created) created++;
      }
      auditNote(request, { target: null, details: { alerts: request.body.alerts.length, created } });
      return { received: request.body.alerts.length, created, incidents: [...ids] };
    },
  );

  app.get(
    '/incidents',
    {
      schema: {
        tags,
        summary: 'Incidents, newest or most severe first',
        querystring: IncidentListQuery,
        response: { 200: IncidentPage },
      },
      config: { minRole: 'viewer' },
    },
    async (request) => incidentList(store, request.query),
  );

  app.get(
    '/incidents/stats',
    {
      schema: {
        tags,
        summary: 'MTTA and MTTR per customer and severity for incidents that started in [from, to)',
        querystring: StatsQuery,
        response: { 200: StatsJson },
      },
      config: { minRole: 'viewer' },
    },
    async (request) => {
      const { from, to, customer } = request.query;
      return {
        items: incidentStats(operations.inventory.db, {
          from: Date.parse(from),
          to: Date.parse(to),
          ...(customer ? { customer } : {}),
        }),
      };
    },
  );

  app.get(
    '/incidents/:id',
    {
      schema: {
        tags,
        summary: 'One incident with its timeline',
        params: IncidentParams,
        response: { 200: IncidentDetail },
      },
      config: { minRole: 'viewer' },
    },
    async (request) => {
      const i = store.require(request.params.id);
      return {
        ...incidentJson(i),
        affected: store.affected(i.id).map(affectedJson),
        events: store.events(i.id).map(eventJson),
      };
    },
  );

  const actor = (request: { principal: { name: string } | null }) => request.principal?.name ?? 'unknown';

  app.post(
    '/incidents/:id/ack',
    {
      schema: {
        tags,
        summary: 'Acknowledge (stops escalation)',
        params: IncidentParams,
        response: { 200: IncidentJson },
      },
      config: { minRole: 'support', action: 'incidents.ack' },
    },
    async (request) => incidentJson(store.acknowledge(request.params.id, actor(request))),
  );

  app.post(
    '/incidents/:id/assign',
    {
      schema: {
        tags,
        summary: 'Assign to someone',
        params: IncidentParams,
        body: AssignBody,
        response: { 200: IncidentJson },
      },
      config: { minRole: 'support', action: 'incidents.assign' },
    },
    async (request) => {
      auditNote(request, { details: { assignee: request.body.assignee } });
      return incidentJson(store.assign(request.params.id, actor(request), request.body.assignee));
    },
  );

  app.post(
    '/incidents/:id/comments',
    {
      schema: {
        tags,
        summary: 'Add a comment to the timeline',
        params: IncidentParams,
        body: CommentBody,
        response: { 200: IncidentJson },
      },
      config: { minRole: 'support', action: 'incidents.comment' },
    },
    async (request) => incidentJson(store.comment(request.params.id, actor(request), request.body.text)),
  );

  app.post(
    '/incidents/:id/resolve',
    {
      schema: {
        tags,
        summary: 'Resolve (the body with a note is optional)',
        params: IncidentParams,
        body: ResolveBody,
        response: { 200: IncidentJson },
      },
      config: { minRole: 'support', action: 'incidents.resolve' },
      // A resolve without a note may come without a body.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => incidentJson(store.resolve(request.params.id, actor(request), request.body?.note ?? null)),
  );
};

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export default incidents;
