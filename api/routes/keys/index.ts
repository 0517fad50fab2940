import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { auditNote } from '../../audit.ts';
import { apiErrors } from '../../errors.ts';
import type { RouteContext } from '../../options.ts';
import { IdParams } from '../../schemas.ts';
import { KeyCreate, KeyCreated, keyJson, KeyList } from './schemas.ts';

const tags = ['keys'];

const keys: FastifyPluginAsyncTypebox<RouteContext> = async (app, { inventory }) => {
  app.get(
    '/keys',
    {
      schema: {
        tags,
        summary: 'API keys (never the keys themselves)',
        response: { 200: KeyList },
      },
      config: { minRole: 'admin' },
    },
    async () => ({ items: inventory.apiKeys.list().map(keyJson) }),
  );

  app.post(
    '/keys',
    {
      schema: {
        tags,
        summary: 'Create an API key; the key is in this response only',
        body: KeyCreate,
        response: { 201: KeyCreated },
      },
      config: { minRole: 'admin', action: 'keys.create' },
    },
    async (request, reply) => {
      const created = inventory.apiKeys.create({ ...request.body, createdBy: request.principal?.id });
      auditNote(request, { target: created.id, details: { name: created.name, role: created.role } });
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ ...keyJson(created), key: created.key });
    },
  );

  app.delete(
    '/keys/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an API key, effective for its next request',
        description:
          'Refused (409) for the last active admin key: create another admin key first, or use `fleetpulse keys`.',
        params: IdParams,
      },
      config: { minRole: 'admin', action: 'keys.revoke' },
    },
    async (request, reply) => {
      const key = inventory.apiKeys.require(request.params.id);
      if (
        key.role === 'admin' &&
        key.revoked_at === null &&
        inventory.apiKeys.count({ activeOnly: true, role: 'admin' }) <= 1
      ) {
        throw apiErrors.conflict(`key '${key.id}' is the last active admin key`, 'id', { key: key.id });
      }
      inventory.apiKeys.revoke(key.id);
      return reply.status(204).send();
    },
  );
};

export default keys;
