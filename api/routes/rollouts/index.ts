import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Operations } from '../../../collector/operations/operations.ts';
import type { Rollout } from '../../../collector/operations/rollout-store.ts';
import { auditNote } from '../../audit.ts';
import { IdParams } from '../../schemas.ts';
import { deviceJson, RolloutCreate, RolloutDeviceList, RolloutJson, RolloutList, rolloutJson } from './schemas.ts';

const tags = ['rollouts'];

/**
 * Firmware rollouts: create, list, get (with progress), devices, pause, resume, abort.
 * Register inside the API plugin: `app.register(rolloutRoutes, { operations })`.
 */
const rollouts: FastifyPluginAsyncTypebox<{ operations: Operations }> = async (app, { operations }) => {
  const engine = operations.rollouts;
  const json = (r: Rollout) => rolloutJson(r, engine.progress(r.id));

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
        response: { 200: RolloutList },
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
        response: { 200: RolloutDeviceList },
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
