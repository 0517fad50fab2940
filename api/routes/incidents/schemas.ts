import { Type, type Static } from 'typebox';
import type { AffectedDevice, Incident, IncidentEvent } from '../../../collector/operations/incidents.ts';
import { Limit, ms, Nullable, NullableTimestamp, PageOf, StringEnum, Timestamp } from '../../schemas.ts';

/** Grafana's webhook contact point payload: only what we read is required; the rest is kept open. */
export const GrafanaWebhook = Type.Object(
  {
    status: Type.Optional(Type.String()),
    alerts: Type.Array(
      Type.Object(
        {
          status: StringEnum(['firing', 'resolved'] as const),
          labels: Type.Record(Type.String(), Type.String()),
          annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
          startsAt: Type.String({ minLength: 1 }),
          endsAt: Type.Optional(Type.String()),
          fingerprint: Type.Optional(Type.String({ maxLength: 128 })),
        },
        { additionalProperties: true },
      ),
      { maxItems: 1000 },
    ),
  },
  { additionalProperties: true },
);

export const WebhookAnswer = Type.Object({
  received: Type.Integer(),
  created: Type.Integer(),
  incidents: Type.Array(Type.Integer()),
});

export const IncidentJson = Type.Object({
  id: Type.Integer(),
  fingerprint: Type.String(),
  rule: Type.String(),
  severity: Type.String(),
  summary: Nullable(Type.String()),
  device: Nullable(Type.String()),
  customer: Nullable(Type.String()),
  site: Nullable(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
  status: StringEnum(['open', 'acknowledged', 'resolved'] as const),
  starts_at: Timestamp,
  ends_at: NullableTimestamp,
  acked_at: NullableTimestamp,
  acked_by: Nullable(Type.String()),
  assignee: Nullable(Type.String()),
  resolved_at: NullableTimestamp,
  resolved_by: Nullable(Type.String()),
  escalations: Type.Integer(),
  escalated_at: NullableTimestamp,
  notifications: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const EventJson = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  actor: Nullable(Type.String()),
  type: Type.String(),
  text: Nullable(Type.String()),
  details: Nullable(Type.Record(Type.String(), Type.Unknown())),
});

export const AffectedJson = Type.Object({
  device: Type.String(),
  added_at: Timestamp,
  moved_to: Nullable(
    Type.Integer({ description: "The device's own incident, once the cause cleared and it was still down" }),
  ),
});

export const IncidentDetail = Type.Object({
  ...IncidentJson.properties,
  affected: Type.Array(AffectedJson, {
    description:
      'For an incident of a cause (labels.cause gateway_offline or site_outage): the devices down because of it',
  }),
  events: Type.Array(EventJson),
});
export const IncidentPage = PageOf(IncidentJson);
export const IncidentParams = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
export const IncidentListQuery = Type.Object(
  {
    status: Type.Optional(
      StringEnum(['open', 'acknowledged', 'resolved', 'unresolved'] as const, {
        description: 'unresolved: open or acknowledged',
      }),
    ),
    sort: Type.Optional(
      StringEnum(['newest', 'severity'] as const, {
        description:
          'newest (default): newest first; severity: most severe first (critical, error, warning, info), then newest started',
      }),
    ),
    customer: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    site: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    device: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    severity: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    limit: Limit(500, 50),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,12}$', description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);
export const AssignBody = Type.Object(
  { assignee: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export const CommentBody = Type.Object(
  { text: Type.String({ minLength: 1, maxLength: 5000 }) },
  { additionalProperties: false },
);
export const ResolveBody = Type.Object(
  { note: Type.Optional(Type.String({ maxLength: 5000 })) },
  { additionalProperties: false },
);
export const StatsQuery = Type.Object(
  { from: Timestamp, to: Timestamp, customer: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);
export const StatsJson = Type.Object({
  items: Type.Array(
    Type.Object({
      customer: Nullable(Type.String()),
      severity: Type.String(),
      count: Type.Integer(),
      acknowledged: Type.Integer(),
      resolved: Type.Integer(),
      mtta_s: Nullable(Type.Number({ description: 'Mean time to acknowledge, s' })),
      mttr_s: Nullable(Type.Number({ description: 'Mean time to resolve, s' })),
    }),
  ),
});

export function incidentJson(i: Incident): Static<typeof IncidentJson> {
  return {
    ...i,
    starts_at: ms(i.starts_at)!,
    ends_at: ms(i.ends_at),
    acked_at: ms(i.acked_at),
    resolved_at: ms(i.resolved_at),
    escalated_at: ms(i.escalated_at),
    created_at: ms(i.created_at)!,
    updated_at: ms(i.updated_at)!,
  };
}

export function eventJson(e: IncidentEvent): Static<typeof EventJson> {
  return { ...e, at: ms(e.at)! };
}

export function affectedJson(a: AffectedDevice): Static<typeof AffectedJson> {
  return { ...a, added_at: ms(a.added_at)! };
}
