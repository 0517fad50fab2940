import { Type, type Static } from 'typebox';
import type { CommandRecord } from '../../../collector/commands/command-store.ts';
import { DEVICE_STATES } from '../../../collector/inventory/index.ts';
import {
  Cursor,
  DeviceId,
  Limit,
  ms,
  Nullable,
  NullableTimestamp,
  PageOf,
  Slug,
  StringEnum,
  Timestamp,
} from '../../schemas.ts';

export const STATUSES = [
  'queued',
  'sent',
  'succeeded',
  'failed',
  'rejected',
  'expired',
  'timed_out',
  'cancelled',
] as const;
export const SOURCES = ['api', 'rollout', 'recovery'] as const;

export const Selector = Type.Object(
  {
    kind: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    customer: Type.Optional(Slug),
    site: Type.Optional(Slug),
    gateway: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    firmware: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    state: Type.Optional(StringEnum(DEVICE_STATES)),
    labels: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,63}$' }), Type.String({ maxLength: 256 }), {
        maxProperties: 16,
      }),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'Devices to address: every one matching all given filters (active devices only)',
  },
);
export type Selector = Static<typeof Selector>;

export const CommandCreate = Type.Object(
  {
    device: Type.Optional(DeviceId),
    selector: Type.Optional(Selector),
    name: Type.String({ minLength: 1, maxLength: 64, description: 'A command the device kind declares, e.g. reboot' }),
    params: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: "Checked against the plugin's declared schema" }),
    ),
    expires_in_s: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'Not sent by then: expired. Default 86,400 (a day)' }),
    ),
    timeout_s: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 3600,
        description: "The device's time to answer; default the plugin's",
      }),
    ),
    dry_run: Type.Optional(Type.Boolean({ description: 'List the matching devices and validate, create nothing' })),
  },
  { additionalProperties: false },
);

export const CommandJson = Type.Object({
  id: Type.String(),
  device: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  params: Type.Record(Type.String(), Type.Unknown()),
  status: StringEnum(STATUSES),
  source: StringEnum(SOURCES),
  created_by: Nullable(Type.String()),
  timeout_s: Nullable(Type.Number()),
  created_at: Timestamp,
  expires_at: Timestamp,
  sent_at: NullableTimestamp,
  ended_at: NullableTimestamp,
  result: Type.Unknown(),
  error: Nullable(Type.String()),
});

export const CommandCreated = Type.Object({
  dry_run: Type.Boolean(),
  count: Type.Integer(),
  /** Created command ids (empty on a dry run). */
  ids: Type.Array(Type.String()),
  devices: Type.Array(Type.String(), { description: 'The devices addressed, in order' }),
});

export const CommandListQuery = Type.Object(
  {
    device: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    status: Type.Optional(StringEnum(STATUSES)),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    source: Type.Optional(StringEnum(SOURCES)),
    limit: Limit(500, 50),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export const CommandPage = PageOf(CommandJson);

export function commandJson(c: CommandRecord): Static<typeof CommandJson> {
  return {
    ...c,
    created_at: ms(c.created_at)!,
    expires_at: ms(c.expires_at)!,
    sent_at: ms(c.sent_at),
    ended_at: ms(c.ended_at),
  };
}
