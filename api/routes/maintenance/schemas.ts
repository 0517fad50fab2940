import { Type, type Static } from 'typebox';
import type { MaintenanceWindow } from '../../../collector/operations/maintenance-windows.ts';
import { ms, Nullable, NullableTimestamp, StringEnum, Timestamp } from '../../schemas.ts';

const HHMM = Type.String({
  pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
  description: 'Local wall-clock time, HH:MM (24 h)',
});

export const WindowCreate = Type.Object(
  {
    scope: StringEnum(['device', 'site', 'customer'] as const),
    target: Type.String({ minLength: 1, maxLength: 128, description: 'The device, site or customer id' }),
    recurrence: StringEnum(['once', 'daily', 'weekly', 'monthly'] as const),
    starts_at: Type.Optional(Timestamp),
    ends_at: Type.Optional(Timestamp),
    start_time: Type.Optional(HHMM),
    end_time: Type.Optional(
      Type.Unsafe<string>({
        ...HHMM,
        description: 'Local end; at or before start_time means the next day (23:00-03:00)',
      }),
    ),
    weekdays: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), {
        minItems: 1,
        maxItems: 7,
        description: '0 = Sunday … 6 = Saturday',
      }),
    ),
    week_of_month: Type.Optional(
      Type.Integer({
        minimum: -1,
        maximum: 5,
        description: 'monthly: 1-5, or -1 for the last (third Tuesday: weekdays [2], week_of_month 3)',
      }),
    ),
    timezone: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "IANA zone; default the device's site's zone" }),
    ),
    valid_from: Type.Optional(Timestamp),
    valid_until: Type.Optional(Timestamp),
    reason: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type WindowCreate = Static<typeof WindowCreate>;

export const WindowJson = Type.Object({
  id: Type.String(),
  scope: Type.String(),
  target: Type.String(),
  recurrence: Type.String(),
  starts_at: NullableTimestamp,
  ends_at: NullableTimestamp,
  start_time: Nullable(Type.String()),
  end_time: Nullable(Type.String()),
  duration_min: Nullable(Type.Integer()),
  weekdays: Nullable(Type.Array(Type.Integer())),
  week_of_month: Nullable(Type.Integer()),
  timezone: Nullable(Type.String()),
  valid_from: NullableTimestamp,
  valid_until: NullableTimestamp,
  reason: Nullable(Type.String()),
  created_by: Nullable(Type.String()),
  created_at: Timestamp,
});

export const WindowList = Type.Object({ items: Type.Array(WindowJson) });
export const WindowListQuery = Type.Object(
  {
    scope: Type.Optional(StringEnum(['device', 'site', 'customer'] as const)),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);

export const DeviceMaintenance = Type.Object({
  device: Type.String(),
  in_maintenance: Type.Boolean(),
  windows: Type.Array(Type.String(), { description: 'Windows covering the device now' }),
  until: NullableTimestamp,
});

export function windowJson(w: MaintenanceWindow): Static<typeof WindowJson> {
  let end: string | null = null;
  if (w.start_time !== null && w.duration_min !== null) {
    const [h, m] = w.start_time.split(':').map(Number) as [number, number];
    const total = (h * 60 + m + w.duration_min) % 1440;
    end = `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
  }
  return {
    ...w,
    starts_at: ms(w.starts_at),
    ends_at: ms(w.ends_at),
    valid_from: ms(w.valid_from),
    valid_until: ms(w.valid_until),
    created_at: ms(w.created_at)!,
    end_time: end,
  };
}
