import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Operations } from '../../../collector/operations/operations.ts';
import { auditNote } from '../../audit.ts';
import { decodeCursor, encodeCursor } from '../../cursor.ts';
import { apiErrors } from '../../errors.ts';
import { IdParams } from '../../schemas.ts';
import { CommandCreate, CommandCreated, CommandJson, commandJson, CommandListQuery, CommandPage } from './schemas.ts';

const tags = ['commands'];
/** Most devices one request may address (a selector over the whole fleet is a rollout's job). */
const MAX_DEVICES = 20_000;

/**
 * Durable commands: `POST /commands` (one device or a selector, with a dry run), list, get,
 * cancel. Register inside the API plugin: `app.register(commandRoutes, { operations })`.
 */
const commands: FastifyPluginAsyncTypebox<{ operations: Operations }> = async (app, { operations }) => {
  const queue = operations.commands;
  const devices = operations.inventory.devices;

  app.post(
    '/commands',
    {
      schema: {
        tags,
        summary: 'Queue a command for a device or every device a selector matches',
        body: CommandCreate,
        response: { 201: CommandCreated, 200: CommandCreated },
      },
      config: { minRole: 'operator', action: 'commands.create' },
    },
    async (request, reply) => {
      const { device, selector, name, params, expires_in_s, timeout_s, dry_run } = request.body;
      if ((device === undefined) === (selector === undefined))
        throw apiErrors.validation('device', 'give exactly one of device and selector');
      let targets: string[];
      if (device !== undefined) {
        targets = [device];
      } else {
        targets = devices.all({ ...selector!, lifecycle: 'active' }).map((d) => d.id);
        if (targets.length === 0) throw apiErrors.validation('selector', 'no active device matches the selector');
        if (targets.length > MAX_DEVICES)
          throw apiErrors.validation(
            'selector',
            `the selector matches ${targets.length} devices; at most ${MAX_DEVICES} per request`,
          );
      }
      const actor = request.principal?.name ?? null;
      const inputs = targets.map((d) => ({
        device: d,
        name,
        params: params ?? {},
        expires_in_s,
        timeout_s,
        actor,
        source: 'api' as const,
      }));
      const created = dry_run ? (inputs.forEach((i) => queue.check(i)), []) : queue.create(inputs);
      if (dry_run) return reply.status(200).send({ dry_run: true, count: targets.length, ids: [], devices: targets });
      auditNote(request, {
        target: device ?? null,
        details: { name, devices: targets.length, ...(selector ? { selector } : {}) },
      });
      return reply
        .status(201)
        .send({ dry_run: false, count: created.length, ids: created.map((c) => c.id), devices: targets });
    },
  );

  app.get(
    '/commands',
    {
      schema: {
        tags,
        summary: 'Commands, newest first',
        querystring: CommandListQuery,
        response: { 200: CommandPage },
      },
      config: { minRole: 'viewer' },
    },
    async (request) => {
      const { cursor, limit, ...filter } = request.query;
      const before = cursor ? decodeCursor(cursor, 'created', isKey) : undefined;
      const page = queue.list({ ...filter, limit, ...(before ? { before } : {}) });
      const last = page.items.at(-1);
      return {
        items: page.items.map(commandJson),
        next_cursor: page.more && last ? encodeCursor('created', { created_at: last.created_at, id: last.id }) : null,
      };
    },
  );

  app.get(
    '/commands/:id',
    {
      schema: { tags, summary: 'One command with its result', params: IdParams, response: { 200: CommandJson } },
      config: { minRole: 'viewer' },
    },
    async (request) => {
      const c = queue.get(request.params.id);
      if (!c) throw apiErrors.notFound(`no command ${request.params.id}`);
      return commandJson(c);
    },
  );

  app.post(
    '/commands/:id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a queued command, or abort one in flight',
        params: IdParams,
        response: { 200: CommandJson },
      },
      config: { minRole: 'operator', action: 'commands.cancel' },
    },
    async (request) => commandJson(queue.cancel(request.params.id, request.principal?.name ?? null)),
  );
};

const isKey = (k: unknown): k is { created_at: number; id: string } =>
  typeof k === 'object' &&
  k !== null &&
  typeof (k as { created_at?: unknown }).created_at === 'number' &&
  typeof (k as { id?: unknown }).id === 'string';

/** The queue's refusals as catalogue errors. */
export default commands;
