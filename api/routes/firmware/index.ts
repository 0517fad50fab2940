import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Operations } from '../../../collector/operations/operations.ts';
import { auditNote } from '../../audit.ts';
import { IdParams } from '../../schemas.ts';
import { FirmwareCreate, FirmwareJson, firmwareJson, FirmwareList, FirmwareListQuery } from './schemas.ts';

const tags = ['firmware'];

/** The firmware catalogue. Register inside the API plugin: `app.register(firmwareRoutes, { operations })`. */
const firmware: FastifyPluginAsyncTypebox<{ operations: Operations }> = async (app, { operations }) => {
  const catalogue = operations.firmware;

  app.post(
    '/firmware',
    {
      schema: {
        tags,
        summary: 'Add a firmware image to the catalogue',
        body: FirmwareCreate,
        response: { 201: FirmwareJson },
      },
      config: { minRole: 'admin', action: 'firmware.create' },
    },
    async (request, reply) => {
      const fw = await catalogue.submit(request.body);
      auditNote(request, { target: fw.id, details: { model: fw.model, version: fw.version } });
      return reply.status(201).send(firmwareJson(fw));
    },
  );

  app.get(
    '/firmware',
    {
      schema: {
        tags,
        summary: 'The catalogue',
        querystring: FirmwareListQuery,
        response: { 200: FirmwareList },
      },
      config: { minRole: 'viewer' },
    },
    async (request) => ({ items: catalogue.list(request.query.model).map(firmwareJson) }),
  );

  app.get(
    '/firmware/:id',
    {
      schema: { tags, summary: 'One firmware image', params: IdParams, response: { 200: FirmwareJson } },
      config: { minRole: 'viewer' },
    },
    async (request) => firmwareJson(catalogue.require(request.params.id)),
  );

  app.delete(
    '/firmware/:id',
    {
      schema: { tags, summary: 'Remove an image no rollout uses', params: IdParams },
      config: { minRole: 'admin', action: 'firmware.delete' },
    },
    async (request, reply) => {
      catalogue.delete(request.params.id);
      return reply.status(204).send();
    },
  );
};

export default firmware;
