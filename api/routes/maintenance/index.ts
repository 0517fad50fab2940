import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Operations } from '../../../collector/operations/operations.ts';
import { auditNote } from '../../audit.ts';
import { apiErrors } from '../../errors.ts';
import { IdParams, ms } from '../../schemas.ts';
import { DeviceMaintenance, WindowCreate, WindowJson, windowJson, WindowList, WindowListQuery } from './schemas.ts';

const tags = ['maintenance'];

/**
 * Maintenance windows: create, list, get, delete, and whether a device is in one now. Register
 * inside the API plugin: `app.register(maintenanceRoutes, { operations })`.
 */
const maintenance: FastifyPluginAsyncTypebox<{ operations: Operations }> = async (app, { operations }) => {
  const { windows, calendar, inventory } = operations;

  app.post(
    '/maintenance',
    {
      schema: { tags, summary: 'Create a maintenance window', body: WindowCreate, response: { 201: WindowJson } },
      config: { minRole: 'operator', action: 'maintenance.create' },
    },
    async (request, reply) => {
      const b = request.body;
      const exists =
        b.scope === 'device'
          ? inventory.devices.get(b.target)
          : b.scope === 'site'
            ? inventory.sites.get(b.target)
            : inventory.customers.get(b.target);
      if (!exists) throw apiErrors.validation('target', `${b.scope} '${b.target}' does not exist`);
      let duration: number | undefined;
      if (b.start_time !== undefined || b.end_time !== undefined) {
        if (b.start_time === undefined || b.end_time === undefined)
          throw apiErrors.validation('end_time', 'a recurring window needs start_time and end_time');
        const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
        duration = (minutes(b.end_time) - minutes(b.start_time) + 1440) % 1440 || 1440;
      }
      const instant = (v: string | undefined) => (v === undefined ? null : Date.parse(v));
      const w = windows.create({
        scope: b.scope,
        target: b.target,
        recurrence: b.recurrence,
        starts_at: instant(b.starts_at),
        ends_at: instant(b.ends_at),
        start_time: b.start_time ?? null,
        duration_min: duration ?? null,
        weekdays: b.weekdays ?? null,
        week_of_month: b.week_of_month ?? null,
        timezone: b.timezone ?? null,
        valid_from: instant(b.valid_from),
        valid_until: instant(b.valid_until),
        reason: b.reason ?? null,
        created_by: request.principal?.name ?? null,
      });
      auditNote(request, { target: w.id, details: { scope: w.scope, target: w.target, recurrence: w.recurrence } });
      return reply.status(201).header('location', `${request.url}/${w.id}`).send(windowJson(w));
    },
  );

  app.get(
    '/maintenance',
    {
      schema: { tags, summary: 'Maintenance windows', querystring: WindowListQuery, response: { 200: WindowList } },
      config: { minRole: 'viewer' },
    },
    async (request) => ({ items: windows.list(request.query).map(windowJson) }),
  );

  app.get(
    '/maintenance/:id',
    {
      schema: { tags, summary: 'One maintenance window', params: IdParams, response: { 200: WindowJson } },
      config: { minRole: 'viewer' },
    },
    async (request) => {
      const w = windows.get(request.params.id);
      if (!w) throw apiErrors.notFound(`no maintenance window ${request.params.id}`);
      return windowJson(w);
    },
  );

  app.delete(
    '/maintenance/:id',
    {
      schema: { tags, summary: 'Delete a maintenance window', params: IdParams },
      config: { minRole: 'operator', action: 'maintenance.delete' },
    },
    async (request, reply) => {
      windows.delete(request.params.id);
      return reply.status(204).send();
    },
  );

  app.get(
    '/maintenance/devices/:id',
    {
      schema: {
        tags,
        summary: 'Whether a device is in a maintenance window now',
        params: IdParams,
        response: { 200: DeviceMaintenance },
      },
      config: { minRole: 'viewer' },
    },
    async (request) => {
      const device = inventory.devices.get(request.params.id);
      if (!device) throw apiErrors.notFound(`no device ${request.params.id}`);
      const now = Date.now();
      const r = calendar.evaluate(
        { id: device.id, site: device.site ?? undefined, customer: device.customer ?? undefined },
        now,
      );
      return {
        device: device.id,
        in_maintenance: r.inside,
        windows: r.windows,
        until: Number.isFinite(r.until) ? ms(r.until) : null,
      };
    },
  );
};

export default maintenance;
