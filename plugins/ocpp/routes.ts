/**
 * The plugin's API routes: charging sessions (viewer reads, operator closes) and the id-tag list
 * (support reads, admin writes). The `role` puts each behind the API's key check, role check and audit log.
 */
import { Type, type PluginContext } from '../../collector/sdk/index.ts';
import type { OcppConfig } from './config.ts';
import type { IdTagRow, IdTags } from './id-tags.ts';
import type { SessionEnds } from './session-ends.ts';
import type { SessionRow, SessionStore } from './sessions.ts';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

const SessionOut = Type.Object({
  id: Type.Integer(),
  charger: Type.String(),
  transaction_id: Type.String(),
  protocol: Type.String(),
  connector: Type.Union([Type.Integer(), Type.Null()]),
  id_tag: NullableString,
  id_tag_status: NullableString,
  site: NullableString,
  customer: NullableString,
  start_time: Nullable(Type.String({ format: 'date-time' })),
  stop_time: Nullable(Type.String({ format: 'date-time' })),
  meter_start_wh: NullableNumber,
  meter_stop_wh: NullableNumber,
  energy_wh: NullableNumber,
  duration_s: NullableNumber,
  stop_reason: NullableString,
  cost_net: NullableNumber,
  cost: NullableNumber,
  currency: NullableString,
  state: Type.String(),
  complete: Type.Boolean(),
});

const IdTagOut = Type.Object({
  id_tag: Type.String(),
  status: Type.String(),
  expires_at: Nullable(Type.String({ format: 'date-time' })),
  customer: NullableString,
  parent_id_tag: NullableString,
  note: NullableString,
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

const notFound = (message: string) => ({ error: { code: 'FP_NOT_FOUND', message } });
const ErrorOut = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) });

export function registerRoutes(
  ctx: PluginContext<OcppConfig>,
  sessions: SessionStore,
  idTags: IdTags,
  ends: SessionEnds,
  idTagsChanged: () => void,
): void {
  ctx.http.route({
    method: 'GET',
    url: '/api/v1/charging-sessions',
    config: { minRole: 'viewer' },
    schema: {
      description:
        'Charging sessions, newest first. Site and customer are those of the charger when the session started.',
      querystring: Type.Object(
        {
          charger: Type.Optional(Type.String()),
          site: Type.Optional(Type.String()),
          customer: Type.Optional(Type.String()),
          state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('ended')])),
          from: Type.Optional(Type.String({ format: 'date-time', description: 'Started at or after' })),
          to: Type.Optional(Type.String({ format: 'date-time', description: 'Started before' })),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
          cursor: Type.Optional(
            Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'next_cursor of the previous page' }),
          ),
          before: Type.Optional(
            Type.Integer({ minimum: 1, description: 'Deprecated: the old cursor (`next`); use `cursor`' }),
          ),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({
          items: Type.Array(SessionOut),
          next_cursor: NullableString,
          sessions: Type.Array(SessionOut, { description: 'Deprecated: the same as `items`' }),
          next: Type.Union([Type.Integer(), Type.Null()], { description: 'Deprecated: use `next_cursor`' }),
        }),
      },
    },
    handler: async (request) => {
      const q = request.query as {
        charger?: string;
        site?: string;
        customer?: string;
        state?: 'active' | 'ended';
        from?: string;
        to?: string;
        limit: number;
        cursor?: string;
        before?: number;
      };
      const rows = sessions.list({
        ...q,
        from: q.from === undefined ? undefined : Date.parse(q.from),
        to: q.to === undefined ? undefined : Date.parse(q.to),
        before: q.cursor !== undefined ? Number(q.cursor) : q.before,
      });
      const items = rows.map(sessionOut);
      const last = rows.length === q.limit ? rows[rows.length - 1].id : null;
      return { items, next_cursor: last === null ? null : String(last), sessions: items, next: last };
    },
  });

  ctx.http.route({
    method: 'POST',
    url: '/api/v1/charging-sessions/:id/close',
    config: { minRole: 'operator', action: 'charging_sessions.close' },
    schema: {
      description:
        'Closes an active session the charger will not stop: complete=false, stop_reason manual, energy the last reading we have.',
      params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
      response: { 200: SessionOut, 404: ErrorOut, 409: ErrorOut },
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: number };
      const row = sessions.byId(id);
      if (!row) return reply.code(404).send(notFound(`no charging session ${id}`));
      if (row.state !== 'active')
        return reply.code(409).send({
          error: { code: 'FP_CONFLICT', message: `charging session ${id} has already ended (${row.stop_reason})` },
        });
      return sessionOut(ends.close(row, 'manual'));
    },
  });

  ctx.http.route({
    method: 'GET',
    url: '/api/v1/id-tags',
    config: { minRole: 'support' },
    schema: {
      description: 'The RFID / id-token list, by id tag.',
      querystring: Type.Object(
        {
          customer: Type.Optional(Type.String()),
          cursor: Type.Optional(Type.String({ minLength: 1, description: 'next_cursor of the previous page' })),
          after: Type.Optional(
            Type.String({ description: 'Deprecated: the last id_tag of the previous page; use `cursor`' }),
          ),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({
          items: Type.Array(IdTagOut),
          next_cursor: NullableString,
          id_tags: Type.Array(IdTagOut, { description: 'Deprecated: the same as `items`' }),
        }),
      },
    },
    handler: async (request) => {
      const q = request.query as { customer?: string; cursor?: string; after?: string; limit: number };
      const rows = idTags.list({ customer: q.customer, after: q.cursor ?? q.after, limit: q.limit });
      const items = rows.map(idTagOut);
      const next_cursor = rows.length === q.limit ? rows[rows.length - 1].id_tag : null;
      return { items, next_cursor, id_tags: items };
    },
  });

  ctx.http.route({
    method: 'PUT',
    url: '/api/v1/id-tags/:id_tag',
    config: { minRole: 'admin' },
    schema: {
      description: 'Adds or replaces an id tag.',
      params: Type.Object({ id_tag: Type.String({ minLength: 1, maxLength: 36 }) }),
      body: Type.Object(
        {
          status: Type.Union([Type.Literal('accepted'), Type.Literal('blocked')]),
          expires_at: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
          customer: Type.Optional(NullableString),
          parent_id_tag: Type.Optional(Nullable(Type.String({ maxLength: 36 }))),
          note: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
        },
        { additionalProperties: false },
      ),
      response: { 200: IdTagOut },
    },
    handler: async (request) => {
      const { id_tag } = request.params as { id_tag: string };
      const b = request.body as {
        status: 'accepted' | 'blocked';
        expires_at?: string | null;
        customer?: string | null;
        parent_id_tag?: string | null;
        note?: string | null;
      };
      const row = idTags.put(
        {
          id_tag,
          status: b.status,
          expires_at: b.expires_at ? Date.parse(b.expires_at) : null,
          customer: b.customer ?? null,
          parent_id_tag: b.parent_id_tag ?? null,
          note: b.note ?? null,
        },
        ctx.clock.now(),
      );
      idTagsChanged();
      return idTagOut(row);
    },
  });

  ctx.http.route({
    method: 'DELETE',
    url: '/api/v1/id-tags/:id_tag',
    config: { minRole: 'admin' },
    schema: {
      params: Type.Object({ id_tag: Type.String({ minLength: 1, maxLength: 36 }) }),
      response: { 404: ErrorOut },
    },
    handler: async (request, reply) => {
      const { id_tag } = request.params as { id_tag: string };
      if (!idTags.remove(id_tag)) return reply.code(404).send(notFound(`no id tag ${id_tag}`));
      idTagsChanged();
      return reply.code(204).send();
    },
  });
}

function sessionOut(r: SessionRow) {
  return {
    id: r.id,
    charger: r.charger,
    transaction_id: r.transaction_id,
    protocol: r.protocol,
    connector: r.connector,
    id_tag: r.id_tag,
    id_tag_status: r.id_tag_status,
    site: r.site,
    customer: r.customer,
    start_time: iso(r.start_time),
    stop_time: iso(r.stop_time),
    meter_start_wh: r.meter_start_wh,
    meter_stop_wh: r.meter_stop_wh,
    energy_wh: r.energy_wh,
    duration_s: r.duration_s,
    stop_reason: r.stop_reason,
    cost_net: r.cost_net,
    cost: r.cost,
    currency: r.currency,
    state: r.state,
    complete: r.complete === 1,
  };
}

function idTagOut(r: IdTagRow) {
  return { ...r, expires_at: iso(r.expires_at), created_at: iso(r.created_at)!, updated_at: iso(r.updated_at)! };
}
