import { Type, type Static } from 'typebox';
import type { StationSession } from '../../../collector/operations/sessions/session.ts';
import { Nullable, NullableTimestamp, StringEnum, Timestamp } from '../../schemas.ts';

const Minutes = Type.Number({
  exclusiveMinimum: 0,
  maximum: 1440,
  description: 'Minutes, more than 0 and at most 1,440 (a day)',
});

export const SessionStart = Type.Object(
  {
    station: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Device id of the station (a venue PC, or a console behind a plug)',
    }),
    minutes: Minutes,
    action: Type.Optional(
      StringEnum(['lock', 'log_off', 'power_off'] as const, { description: 'What happens at the end; default lock' }),
    ),
    plug: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "For power_off: the plug's device id (default: the station's label `plug`)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const SessionExtend = Type.Object({ minutes: Minutes }, { additionalProperties: false });

export const SessionListQuery = Type.Object(
  {
    state: Type.Optional(StringEnum(['active', 'ended', 'stopped'] as const)),
    station: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 500, description: 'Newest first, at most this many (default 100)' }),
    ),
  },
  { additionalProperties: false },
);

export const SessionJson = Type.Object({
  id: Type.String(),
  station: Type.String(),
  site: Nullable(Type.String()),
  action: StringEnum(['lock', 'log_off', 'power_off'] as const),
  plug: Nullable(Type.String()),
  state: StringEnum(['active', 'ended', 'stopped'] as const),
  started_at: Timestamp,
  ends_at: Timestamp,
  minutes_sold: Type.Number(),
  remaining_s: Type.Integer({ description: 'Seconds left now (0 once over)' }),
  ended_at: NullableTimestamp,
  enforcement: Nullable(
    StringEnum(['ok', 'pending', 'failed'] as const, {
      description:
        'Once ended: ok, failed, or pending (the station was unreachable at the end but holds the end time; its own report is awaited)',
    }),
  ),
  enforced_by: Nullable(
    StringEnum(['server', 'station', 'plug'] as const, {
      description: "Who ended it (or was to): the server's command, the station's agent, the plug",
    }),
  ),
  error: Nullable(Type.String({ description: 'Why the end could not be enforced, or why it is pending' })),
  station_synced: Nullable(
    Type.Boolean({
      description:
        "The station's agent holds the server's end time (or, once stopped, none); false while a change waits for the station to be back. Null for power_off",
    }),
  ),
});

export const SessionList = Type.Object({ items: Type.Array(SessionJson) });
export const SessionIdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

const iso = (ms: number) => new Date(ms).toISOString();

export function sessionJson(s: StationSession, now = Date.now()): Static<typeof SessionJson> {
  return {
    ...s,
    started_at: iso(s.started_at),
    ends_at: iso(s.ends_at),
    ended_at: s.ended_at === null ? null : iso(s.ended_at),
    remaining_s: s.state === 'active' ? Math.max(0, Math.round((s.ends_at - now) / 1000)) : 0,
  };
}
