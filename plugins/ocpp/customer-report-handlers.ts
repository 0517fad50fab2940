/* eslint-disable @typescript-eslint/no-unsafe-argument --
   handlers read OcppPayload, schema-checked by ocpp-rpc (station.ts) */
/**
 * NotifyCustomerInformation parts kept per requestId, and the assembled report at
 * `GET /api/v1/chargers/:id/customer-information/:request_id` (operator: it is personal data).
 */
import { Type, type PluginContext } from '../../collector/sdk/index.ts';
import type { OcppConfig, OcppVersion } from './config.ts';
import type { CustomerReports } from './customer-reports.ts';
import type { On, Station } from './station.ts';

export function registerCustomerReports(station: Station, version: OcppVersion, on: On): void {
  if (version === 'ocpp1.6') return;
  const { ctx } = station;
  on('NotifyCustomerInformation', (p, charger) => {
    // Answered either way: a CALLERROR would make the charger send the same part again.
    if (!station.customerReports.add(charger.identity, p, ctx.clock.now())) ctx.count('customer_information_overflow');
    return {};
  });
}

const ReportOut = Type.Object({
  charger: Type.String(),
  request_id: Type.Integer(),
  complete: Type.Boolean({ description: 'The last part (tbc false) arrived and none before it is missing' }),
  parts: Type.Integer(),
  data: Type.String({ description: "The parts' data in seqNo order" }),
  generated_at: Type.Union([Type.String(), Type.Null()]),
});

export function registerCustomerReportRoutes(ctx: PluginContext<OcppConfig>, reports: CustomerReports): void {
  ctx.http.route({
    method: 'GET',
    url: '/api/v1/chargers/:id/customer-information/:request_id',
    config: { minRole: 'operator' },
    schema: {
      description:
        "What a charger reported about a customer for one customer_information command (its result's request_id); 404 until a part arrived",
      params: Type.Object(
        { id: Type.String({ minLength: 1, maxLength: 128 }), request_id: Type.Integer({ minimum: 0 }) },
        { additionalProperties: false },
      ),
      response: { 200: ReportOut },
    },
    handler: async (request, reply) => {
      const { id, request_id } = request.params as { id: string; request_id: number };
      const report = reports.get(id, request_id);
      if (!report)
        return reply.code(404).send({
          error: { code: 'FP_NOT_FOUND', message: `no customer information from ${id} for request ${request_id}` },
        });
      return { charger: id, ...report };
    },
  });
}
