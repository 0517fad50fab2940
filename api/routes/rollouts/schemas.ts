import { Type, type Static } from 'typebox';
import type { Rollout, RolloutDevice } from '../../../collector/operations/rollout-store.ts';
import { ms, Nullable, NullableTimestamp, Timestamp } from '../../schemas.ts';
import { Selector } from '../commands/schemas.ts';

export const RolloutCreate = Type.Object(
  {
    firmware_id: Type.String({ minLength: 1, maxLength: 64 }),
    selector: Type.Unsafe<Static<typeof Selector>>({
      ...Selector,
      minProperties: 0,
      description: "Devices to update (the firmware's model is always added); {} = every active device of the model",
    }),
    canary: Type.Optional(
      Type.Object(
        {
          count: Type.Optional(Type.Integer({ minimum: 1 })),
          percent: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
        },
        { additionalProperties: false, description: 'The first wave: a count or a percentage (default 1 device)' },
      ),
    ),
    wave_size: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 20_000, description: 'Devices per wave after the canary (default 50)' }),
    ),
    wave_interval_s: Type.Optional(
      Type.Number({ minimum: 0, description: 'Least time between wave starts, s (default 0)' }),
    ),
    failure_threshold: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'Halt when more than this fraction of a wave failed (default 0.1)',
      }),
    ),
    confirm_timeout_s: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'Time to report the new version, s (default 1,800)' }),
    ),
    retry_offline_s: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'Retry a device offline at its turn after, s (default 300)' }),
    ),
  },
  { additionalProperties: false },
);

const Progress = Type.Object({
  total: Type.Integer(),
  done: Type.Integer(),
  failed: Type.Integer(),
  pending: Type.Integer(),
  skipped: Type.Integer(),
  percent: Type.Number(),
  waves: Type.Integer(),
  current_wave: Type.Integer(),
  estimated_end: NullableTimestamp,
});

export const RolloutJson = Type.Object({
  id: Type.String(),
  firmware_id: Type.String(),
  selector: Type.Record(Type.String(), Type.Unknown()),
  status: Type.String(),
  wave_size: Type.Integer(),
  wave_interval_s: Type.Number(),
  failure_threshold: Type.Number(),
  confirm_timeout_s: Type.Number(),
  retry_offline_s: Type.Number(),
  current_wave: Type.Integer(),
  halt_reason: Nullable(Type.String()),
  created_by: Nullable(Type.String()),
  created_at: Timestamp,
  ended_at: NullableTimestamp,
  progress: Progress,
});

export const DeviceJson = Type.Object({
  device: Type.String(),
  wave: Type.Integer(),
  state: Type.String(),
  command_id: Nullable(Type.String()),
  attempts: Type.Integer(),
  next_try_at: NullableTimestamp,
  error: Nullable(Type.String()),
  updated_at: Timestamp,
});

export const RolloutList = Type.Object({ items: Type.Array(RolloutJson) });
export const RolloutDeviceList = Type.Object({ items: Type.Array(DeviceJson) });

export function rolloutJson(r: Rollout, progress: Static<typeof Progress>): Static<typeof RolloutJson> {
  const { wave_started_at: _w, updated_at: _u, ...rest } = r;
  return {
    ...rest,
    selector: r.selector as Record<string, unknown>,
    created_at: ms(r.created_at)!,
    ended_at: ms(r.ended_at),
    progress,
  };
}

export function deviceJson(d: RolloutDevice): Static<typeof DeviceJson> {
  return { ...d, next_try_at: ms(d.next_try_at), updated_at: ms(d.updated_at)! };
}
