import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Operations } from '../../../collector/operations/operations.ts';
import { reportCsv, reportHtml } from '../../../collector/operations/report-format.ts';
import { ApiError } from '../../errors.ts';
import { UptimeQuery } from './schemas.ts';

const tags = ['reports'];

/**
 * `GET /reports/uptime`: monthly uptime per customer and site against the contract's SLA, the
 * worst devices, incident counts with MTTA and MTTR; as JSON, CSV or a printable HTML page. Read
 * from the sums stored per month (collector/operations/stored-uptime.ts), not from InfluxDB each time.
 * Register inside the API plugin: `app.register(reportRoutes, { operations })`.
 */
const reports: FastifyPluginAsyncTypebox<{ operations: Operations }> = async (app, { operations }) => {
  app.get(
    '/reports/uptime',
    {
      schema: { tags, summary: 'Monthly uptime report (JSON, CSV or HTML)', querystring: UptimeQuery },
      config: { minRole: 'viewer' },
    },
    async (request, reply) => {
      const { format = 'json', timezone, ...rest } = request.query;
      const stored = operations.uptime;
      if (!stored)
        throw new ApiError('FP_UPSTREAM', 'reports need InfluxDB, and this server has no query connection to it');
      // A bad month or zone (ReportError) and a failed query (InfluxQueryError) are mapped by the error handler.
      const report = await stored.report({
        ...rest,
        ...(timezone ? { timezone } : {}),
        slaTargets: operations.deps.options?.slaTargets,
      });
      // The customer id goes into a header: only characters that need no quoting there.
      const name = `uptime-${report.month}${rest.customer ? `-${rest.customer.replace(/[^A-Za-z0-9._-]/g, '_')}` : ''}`;
      if (format === 'csv')
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}.csv"`)
          .send(reportCsv(report));
      if (format === 'html') return reply.type('text/html; charset=utf-8').send(reportHtml(report));
      return report;
    },
  );
};

export default reports;
