/**
 * `/api/v1/reservations`: list (viewer), create and cancel (operator; audited by the API as every
 * mutating call). Creating and cancelling go to the charger at once, behind the commands already
 * waiting for it, and answer with what the charger said: a reservation exists only once the
 * charger holds it too.
 */
import { CommandFailed, CommandRejected, DeviceUnreachable, Type } from '../../collector/sdk/index.ts';
import type { ReservationRow, ReservationState } from './reservations.ts';
import type { Station } from './station.ts';

const STATES = ['requested', 'active', 'rejected', 'cancelled', 'expired', 'used'] as const;

const ReservationOut = Type.Object({
  id: Type.Integer(),
  charger: Type.String(),
  connector: Type.Integer(),
  id_tag: Type.String(),
  parent_id_tag: Type.Union([Type.String(), Type.Null()]),
  expires_at: Type.String({ format: 'date-time' }),
  state: Type.Union(STATES.map((s) => Type.Literal(s))),
  reason: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
const ErrorOut = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});
const error = (code: string, message: string, extra: object = {}) => ({ error: { code, message, ...extra } });

export function registerReservationRoutes(station: Station): void {
  const { ctx, reservations } = station;
  const send = async (charger: string, name: string, params: object) => {
    try {
      return {
        ok: true as const,
        result: (await station.command!(charger, name, params)) as { reservation_id: number },
      };
    } catch (err) {
      if (err instanceof DeviceUnreachable)
        return { ok: false as const, message: `charger ${charger} is not connected` };
      if (err instanceof CommandRejected || err instanceof CommandFailed) {
        const result = err.result as { reservation_id?: number } | undefined;
        return { ok: false as const, message: err.message, reservation: result?.reservation_id };
      }
      throw err;
    }
  };

  ctx.http.route({
    method: 'GET',
    url: '/api/v1/reservations',
    config: { minRole: 'viewer' },
    schema: {
      description: 'Reservations, newest first (a reservation past its time reads as expired).',
      querystring: Type.Object(
        {
          charger: Type.Optional(Type.String()),
          state: Type.Optional(Type.Union(STATES.map((s) => Type.Literal(s)))),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
          cursor: Type.Optional(
            Type.String({ pattern: '^[0-9]+$', description: '`next_cursor` of the previous page' }),
          ),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Object({ items: Type.Array(ReservationOut), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
      },
    },
    handler: async (request) => {
      const q = request.query as { charger?: string; state?: ReservationState; limit: number; cursor?: string };
      const rows = reservations.list({ ...q, after: q.cursor === undefined ? undefined : Number(q.cursor) });
      return { items: rows.map(out), next_cursor: rows.length === q.limit ? String(rows[rows.length - 1].id) : null };
    },
  });

  ctx.http.route({
    method: 'POST',
    url: '/api/v1/reservations',
    config: { minRole: 'operator', action: 'reservations.create' },
    schema: {
      description:
        'Reserves a connector (2.0.1 EVSE; 0 = the whole charger) for an id tag until `expires_at` (ReserveNow). ' +
        '201 once the charger accepted; 409 FP_CONFLICT when it refused (Occupied, Faulted, ...) or is not connected.',
      body: Type.Object(
        {
          charger: Type.String({ minLength: 1 }),
          connector: Type.Optional(Type.Integer({ minimum: 0, description: 'Default 0: the whole charger' })),
          id_tag: Type.String({ minLength: 1, maxLength: 20 }),
          expires_at: Type.String({ format: 'date-time' }),
          parent_id_tag: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
        },
        { additionalProperties: false },
      ),
      response: { 201: ReservationOut, 400: ErrorOut, 409: ErrorOut },
    },
    handler: async (request, reply) => {
      const { charger, connector = 0, ...rest } = request.body as { charger: string; connector?: number };
      const params = { ...rest, connector };
      if (ctx.devices.lookup(charger)?.kind !== 'charger')
        return reply.code(400).send(error('FP_VALIDATION', `no charger ${charger}`, { field: 'charger' }));
      const sent = await send(charger, 'reserve_now', params);
      if (!sent.ok)
        return reply
          .code(409)
          .send(
            error('FP_CONFLICT', sent.message, sent.reservation ? { details: { reservation: sent.reservation } } : {}),
          );
      return reply.code(201).send(out(reservations.get(sent.result.reservation_id)!));
    },
  });

  ctx.http.route({
    method: 'DELETE',
    url: '/api/v1/reservations/:id',
    config: { minRole: 'operator', action: 'reservations.cancel' },
    schema: {
      description: 'Cancels a reservation at the charger (CancelReservation); 409 when it is no longer held.',
      params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
      response: { 200: ReservationOut, 404: ErrorOut, 409: ErrorOut },
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: number };
      const row = reservations.get(id);
      if (!row) return reply.code(404).send(error('FP_NOT_FOUND', `no reservation ${id}`));
      if (row.state !== 'active' && row.state !== 'requested')
        return reply.code(409).send(error('FP_CONFLICT', `reservation ${id} is ${row.state}`));
      const sent = await send(row.charger, 'cancel_reservation', { reservation_id: id });
      if (!sent.ok) return reply.code(409).send(error('FP_CONFLICT', sent.message));
      return out(reservations.get(id)!);
    },
  });
}

function out(r: ReservationRow) {
  const iso = (t: number) => new Date(t).toISOString();
  return { ...r, expires_at: iso(r.expires_at), created_at: iso(r.created_at), updated_at: iso(r.updated_at) };
}
