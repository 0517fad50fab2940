/**
 * `GET /api/v1/devices/:id/variables`: what we know of a 2.0.1 charger's device model (every
 * reported attribute of every variable, and its monitors), filterable by component and variable.
 * Viewer reads; the API's key check, role check and audit apply as to every plugin route.
 */
import { Type } from '../../collector/sdk/index.ts';
import type { Station } from './station.ts';

const iso = (t: number) => new Date(t).toISOString();
const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);
const place = {
  component: Type.String(),
  component_instance: NullableString,
  evse: NullableInteger,
  connector: NullableInteger,
  variable: Type.String(),
  variable_instance: NullableString,
};
const NullableBoolean = Type.Union([Type.Boolean(), Type.Null()]);

const VariablesOut = Type.Object({
  device: Type.String(),
  variables: Type.Array(
    Type.Object({
      ...place,
      attribute: Type.String({ description: 'Actual, Target, MinSet or MaxSet' }),
      value: NullableString,
      mutability: NullableString,
      persistent: NullableBoolean,
      constant: NullableBoolean,
      characteristics: Type.Union([Type.Unknown(), Type.Null()], {
        description: 'unit, dataType, minLimit, maxLimit, valuesList, supportsMonitoring, as reported',
      }),
      updated_at: Type.String({ format: 'date-time' }),
    }),
  ),
  monitors: Type.Array(
    Type.Object({
      id: Type.Integer(),
      ...place,
      type: Type.String(),
      value: Type.Number(),
      severity: Type.Integer(),
      transaction: Type.Boolean(),
      source: Type.String({ description: 'set (our set_variable_monitoring) or report (NotifyMonitoringReport)' }),
      updated_at: Type.String({ format: 'date-time' }),
    }),
  ),
});

export function registerDeviceModelRoutes(station: Station): void {
  station.ctx.http.route({
    method: 'GET',
    url: '/api/v1/devices/:id/variables',
    config: { minRole: 'viewer' },
    schema: {
      description:
        "What we know of a 2.0.1 charger's device model: every attribute reported (NotifyReport, GetVariables) and its monitors; component and variable filter by name (case-insensitive).",
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
      querystring: Type.Object(
        {
          component: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
          variable: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
        },
        { additionalProperties: false },
      ),
      response: { 200: VariablesOut },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const filter = request.query as { component?: string; variable?: string };
      return {
        device: id,
        variables: station.variables.of(id, filter).map((v) => ({ ...v, updated_at: iso(v.updated_at) })),
        monitors: station.monitors.of(id, filter).map((m) => ({ ...m, updated_at: iso(m.updated_at) })),
      };
    },
  });
}
