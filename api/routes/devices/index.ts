import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { type DeviceKey, type DeviceSortField } from '../../../collector/inventory/index.ts';
import { auditNote } from '../../audit.ts';
import { decodeCursor, encodeCursor } from '../../cursor.ts';
import { ApiError, apiErrors } from '../../errors.ts';
import type { DeviceDraft } from '../../../collector/sdk/index.ts';
import type { RouteContext } from '../../options.ts';
import { IdParams, StringEnum } from '../../schemas.ts';
import { validatorCompiler } from '../../validation.ts';
import { devicesCsv } from './export.ts';
import { prepareImport } from './import.ts';
import { latestReadings, type Reading } from './readings.ts';
import {
  DeviceDetail,
  DeviceJson,
  deviceJson,
  DevicePage,
  deviceSchemas,
  parseLabelFilters,
  reportedJson,
} from './schemas.ts';

const tags = ['devices'];

const ImportReport = Type.Object({
  rows: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
});

const devices: FastifyPluginAsyncTypebox<RouteContext> = async (
  app,
  { inventory, kinds, influx, limits, checkDevice },
) => {
  const s = deviceSchemas(kinds);

  // `label=a:b` once arrives as a string, repeated as an array: make it always an array.
  const labelsAsArray = async (request: { query: unknown }) => {
    const query = request.query as { label?: string | string[] };
    if (typeof query.label === 'string') query.label = [query.label];
  };

  app.get(
    '/devices',
    {
      schema: {
        tags,
        summary: 'List devices',
        description:
          'Filters combine with AND. Pages by cursor: pass `next_cursor` back as `cursor` with the same filters and sort.',
        querystring: s.ListQuery,
        response: { 200: DevicePage },
      },
      config: { minRole: 'viewer' },
      preValidation: labelsAsArray,
    },
    async (request) => {
      const { sort = 'id', cursor, limit, label, include, ...filter } = request.query;
      const desc = sort.startsWith('-');
      const field = (desc ? sort.slice(1) : sort) as DeviceSortField;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, sort, isDeviceKey);
      const page = inventory.devices.list({
        ...filter,
        labels: parseLabelFilters(label),
        sort: { field, desc },
        after,
        limit,
      });
      const last = page.items.at(-1);
      const reports = include === 'reported' ? inventory.devices.reports(page.items.map((d) => d.id)) : undefined;
      return {
        items: reports
          ? page.items.map((d) => ({ ...deviceJson(d), reported: reportedJson(reports.get(d.id)) }))
          : page.items.map(deviceJson),
        next_cursor: page.more && last ? encodeCursor(sort, { value: last[field], id: last.id }) : null,
      };
    },
  );

  app.get(
    '/devices/export',
    {
      schema: {
        tags,
        summary: 'Export devices as JSON or CSV',
        description: 'Every device matching the filters, by id. CSV is the import format (see docs/api.md).',
        querystring: s.ExportQuery,
        response: {
          200: {
            content: {
              'application/json': { schema: Type.Array(DeviceJson) },
              'text/csv': { schema: Type.String() },
            },
          },
        },
      },
      config: { minRole: 'viewer' },
      preValidation: labelsAsArray,
    },
    async (request, reply) => {
      const { format = 'json', label, ...filter } = request.query;
      const all = inventory.devices.all({ ...filter, labels: parseLabelFilters(label) });
      reply.header('content-disposition', `attachment; filename="devices.${format}"`);
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(devicesCsv(all));
      return reply.type('application/json; charset=utf-8').send(all.map(deviceJson));
    },
  );

  app.post(
    '/devices/import',
    {
      schema: {
        tags,
        summary: 'Import devices from JSON or CSV, all or nothing',
        description:
          `Up to ${limits.importMaxRows} rows. Every row is checked; if any is bad nothing is written and the 422 ` +
          'FP_IMPORT_INVALID error lists every bad row (`details.errors`: row, line for CSV, field, message).',
        querystring: Type.Object(
          {
            mode: Type.Optional(
              StringEnum(['create', 'upsert'] as const, {
                description: 'create (default): every id must be new; upsert: existing devices take the given fields',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        body: {
          content: {
            'application/json': { schema: Type.Array(s.ImportRow, { maxItems: limits.importMaxRows }) },
            'text/csv': {
              schema: Type.String({
                description:
                  'Header: id,kind,model,customer,site,gateway,firmware,installed_on,lifecycle,label.<key>...',
              }),
            },
          },
        },
        response: { 200: ImportReport },
      },
      // Rows are checked one by one in the handler, so that every bad row is reported.
      validatorCompiler: (route) =>
        route.httpPart === 'body' ? (value: unknown) => ({ value }) : validatorCompiler(route),
      bodyLimit: limits.importBodyLimit,
      config: { minRole: 'admin', action: 'devices.import' },
    },
    async (request) => {
      const mode = request.query.mode ?? 'create';
      const prepared = prepareImport(request.body, s.ImportRow, limits.importMaxRows);
      let problems = prepared.problems;
      for (const { row, device } of prepared.rows) {
        if (!device.labels) continue;
        const problem = await checkDevice({ id: device.id, kind: device.kind, labels: device.labels });
        if (problem) problems = [...problems, { row, ...problem }];
      }
      let written = { created: 0, updated: 0 };
      if (problems.length === 0) {
        const result = inventory.devices.importDevices(prepared.rows, mode);
        if (result.ok) written = result;
        else problems = result.errors;
      } else {
        // Report reference and duplicate problems of the well-formed rows too: one round trip.
        problems = [...problems, ...inventory.devices.checkImport(prepared.rows, mode)];
      }
      if (problems.length > 0) {
        problems.sort((a, b) => a.row - b.row);
        const badRows = new Set(problems.map((p) => p.row)).size;
        auditNote(request, { details: { mode, rows: prepared.total, invalid_rows: badRows } });
        throw new ApiError(
          'FP_IMPORT_INVALID',
          `${badRows} of ${prepared.total} rows are not valid; nothing was imported`,
          undefined,
          {
            rows: prepared.total,
            invalid_rows: badRows,
            errors: problems,
          },
        );
      }
      auditNote(request, { details: { mode, rows: prepared.total, ...written } });
      return { rows: prepared.total, ...written };
    },
  );

  app.post(
    '/devices',
    {
      schema: { tags, summary: 'Create a device', body: s.Create, response: { 201: DeviceJson } },
      config: { minRole: 'admin', action: 'devices.create' },
    },
    async (request, reply) => {
      const { id, kind, labels } = request.body;
      await refuseProblem(checkDevice, { id, kind, labels: labels ?? {} });
      const device = inventory.devices.create(request.body);
      auditNote(request, { target: device.id });
      return reply
        .status(201)
        .header('location', `${request.url}/${encodeURIComponent(device.id)}`)
        .send(deviceJson(device));
    },
  );

  app.get(
    '/devices/:id',
    {
      schema: {
        tags,
        summary: 'One device, with its live state and latest readings',
        params: IdParams,
        response: { 200: DeviceDetail },
      },
      config: { minRole: 'viewer' },
    },
    async (request) => {
      const device = inventory.devices.require(request.params.id);
      let readings: Reading[] | null = null;
      let readingsError: string | undefined;
      if (influx) {
        try {
          readings = await latestReadings(influx, device.id, limits.readingsTimeoutMs);
        } catch (err) {
          readingsError = (err as Error).message;
          request.log.warn({ err, device: device.id }, 'latest readings unavailable');
        }
      }
      return {
        ...deviceJson(device),
        readings,
        ...(readingsError ? { readings_error: readingsError } : {}),
        reported: reportedJson(inventory.devices.reported(device.id)),
      };
    },
  );

  app.patch(
    '/devices/:id',
    {
      schema: { tags, summary: 'Change a device', params: IdParams, body: s.Patch, response: { 200: DeviceJson } },
      config: { minRole: 'admin', action: 'devices.update' },
    },
    async (request) => {
      auditNote(request, { details: { fields: Object.keys(request.body) } });
      if (request.body.labels) {
        const { id, kind } = inventory.devices.require(request.params.id);
        await refuseProblem(checkDevice, { id, kind, labels: request.body.labels });
      }
      return deviceJson(inventory.devices.update(request.params.id, request.body));
    },
  );

  app.delete(
    '/devices/:id',
    {
      schema: { tags, summary: 'Delete a device and its credentials', params: IdParams },
      config: { minRole: 'admin', action: 'devices.delete' },
    },
    async (request, reply) => {
      inventory.devices.delete(request.params.id);
      return reply.status(204).send();
    },
  );

  app.post(
    '/devices/:id/approve',
    {
      schema: {
        tags,
        summary: 'Approve a pending device',
        description: 'A device that connected unknown is pending until approved. 409 when it is not pending.',
        params: IdParams,
        response: { 200: DeviceJson },
      },
      config: { minRole: 'admin', action: 'devices.approve' },
    },
    async (request) => deviceJson(inventory.devices.approve(request.params.id)),
  );
};

/** A plugin's problem with a device, as the 400 that names its field. */
async function refuseProblem(check: RouteContext['checkDevice'], device: DeviceDraft): Promise<void> {
  const problem = await check(device);
  if (problem) throw apiErrors.validation(problem.field, problem.message);
}

function isDeviceKey(k: unknown): k is DeviceKey {
  if (typeof k !== 'object' || k === null) return false;
  const { value, id } = k as Record<string, unknown>;
  return typeof id === 'string' && (value === null || typeof value === 'string' || typeof value === 'number');
}

export default devices;
