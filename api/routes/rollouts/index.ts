import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { Operations } from '../../../collector/operations/operations.ts';
import type { Rollout, RolloutDevice } from '../../../collector/operations/rollout-store.ts';
import { auditNote } from '../../audit.ts';
import { IdParams, ms, Nullable, NullableTimestamp, Timestamp } from '../../schemas.ts';
import { Selector } from '../commands/schemas.ts';

const tags = ['rollouts'];

const RolloutCreate = Type.Object(
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

const RolloutJson = Type.Object({
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

const DeviceJson = Type.Object({
  device: Type.String(),
  wave: Type.Integer(),
  state: Type.String(),
  command_id: Nullable(Type.String()),
  attempts: Type.Integer(),
  next_try_at: NullableTimestamp,
  error: Nullable(Type.String()),
  updated_at: Timestamp,
});

/**
 * Firmware rollouts: create, list, get (with progress), devices, pause, resume, abort.
 * Register inside the API plugin: `app.register(rolloutRoutes, { operations })`.
 */
const rollouts: FastifyPluginAsyncTypebox<{ operations: Operations }> = async (app, { operations }) => {
  const engine = operations.rollouts;
  const json = (r: Rollout): Static<typeof RolloutJson> => {
    const { wave_started_at: _w, updated_at: _u, ...rest } = r;
    return {
      ...rest,
      selector: r.selector as Record<string, unknown>,
      created_at: ms(r.created_at)!,
      ended_at: ms(r.ended_at),
      progress: engine.progress(r.id),
    };
  };
  const deviceJson = (d: RolloutDevice): Static<typeof DeviceJson> => ({
    ...d,
    next_try_at: ms(d.next_try_at),
    updated_at: ms(d.updated_at)!,
  });

  app.post(
    '/rollouts',
    {
      schema: {
        tags,
        summary: 'Start a firmware rollout in waves',
        body: RolloutCreate,
        response: { 201: RolloutJson },
      },
      config: { minRole: 'admin', action: 'rollouts.create' },
    },
    async (request, reply) => {
      const r = engine.create({ ...request.body, created_by: request.principal?.name ?? null });
      auditNote(request, { target: r.id, details: { firmware: r.firmware_id, devices: engine.progress(r.id).total } });
      return reply.status(201).send(json(r));
    },
  );

  app.get(
    '/rollouts',
    {
      schema: {
        tags,
        summary: 'Rollouts, newest first',
        response: { 200: Type.Object({ items: Type.Array(RolloutJson) }) },
      },
      config: { minRole: 'viewer' },
    },
    async () => ({ items: engine.store.list().map(json) }),
  );

  app.get(
    '/rollouts/:id',
    {
      schema: { tags, summary: 'One rollout with its progress', params: IdParams, response: { 200: RolloutJson } },
      config: { minRole: 'viewer' },
    },
    async (request) => json(engine.require(request.params.id)),
  );

  app.get(
    '/rollouts/:id/devices',
    {
      schema: {
        tags,
        summary: 'Per-device state',
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(DeviceJson) }) },
      },
      config: { minRole: 'viewer' },
    },
    async (request) => ({ items: engine.devices(request.params.id).map(deviceJson) }),
  );

  for (const action of ['pause', 'resume', 'abort'] as const) {
    app.post(
      `/rollouts/:id/${action}`,
      {
        schema: {
          tags,
          summary: `${action[0].toUpperCase()}${action.slice(1)} a rollout`,
          params: IdParams,
          response: { 200: RolloutJson },
        },
        config: { minRole: 'operator', action: `rollouts.${action}` },
      },
      async (request) => json(engine[action](request.params.id)),
    );
  }
};

export default rollouts;
