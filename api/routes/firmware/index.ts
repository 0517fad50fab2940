import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { Firmware } from '../../../collector/operations/firmware-catalogue.ts';
import type { Operations } from '../../../collector/operations/operations.ts';
import { auditNote } from '../../audit.ts';
import { IdParams, ms, Nullable, Timestamp } from '../../schemas.ts';

const tags = ['firmware'];

const FirmwareCreate = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 64, description: 'Device model (inventory `model`)' }),
    version: Type.String({ minLength: 1, maxLength: 64, description: 'The version devices report once installed' }),
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'http(s) image location; loopback, link-local and file: URLs are refused',
    }),
    sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }),
    notes: Type.Optional(Type.String({ maxLength: 10_000, description: 'Release notes' })),
  },
  { additionalProperties: false },
);

export const FirmwareJson = Type.Object({
  id: Type.String(),
  model: Type.String(),
  version: Type.String(),
  url: Type.String(),
  sha256: Type.String(),
  notes: Nullable(Type.String()),
  created_at: Timestamp,
});

const firmwareJson = (f: Firmware): Static<typeof FirmwareJson> => ({ ...f, created_at: ms(f.created_at)! });

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
        querystring: Type.Object(
          { model: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(FirmwareJson) }) },
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
