/**
 * The OCPP 2.0.1 device model in the plugin's words: which component / variable a command is
 * about, and the reports a charger is asked for (get_base_report, get_report), mapped to their
 * payloads. Pure: no I/O. The charger answers with NotifyReport (device-model-handlers.ts).
 */
import { Type, type Static } from '../../collector/sdk/index.ts';

const closed = { additionalProperties: false } as const;
const name = (description: string) => Type.String({ minLength: 1, maxLength: 50, description });

/** A component, and optionally one of its variables, as the 2.0.1 ComponentVariableType names them. */
export const ComponentRef = Type.Object(
  {
    component: name('Component name, e.g. OCPPCommCtrlr, EVSE, Connector'),
    component_instance: Type.Optional(name('Instance of the component, if it has several')),
    evse: Type.Optional(Type.Integer({ minimum: 1, description: 'EVSE the component belongs to' })),
    connector: Type.Optional(Type.Integer({ minimum: 1, description: 'Connector of that EVSE' })),
    variable: Type.Optional(name('Variable name, e.g. HeartbeatInterval; default: every variable')),
    variable_instance: Type.Optional(name('Instance of the variable, if it has several')),
  },
  closed,
);
export type ComponentRefParams = Static<typeof ComponentRef>;

export const REPORT_BASES = ['FullInventory', 'ConfigurationInventory', 'SummaryInventory'] as const;
export const COMPONENT_CRITERIA = ['Active', 'Available', 'Enabled', 'Problem'] as const;

export const deviceModelSpecs = {
  get_base_report: {
    description:
      'Has a 2.0.1 charger report its device model (GetBaseReport → NotifyReport, stored; GET /api/v1/devices/:id/variables)',
    params: Type.Object(
      {
        report_base: Type.Optional(
          Type.Enum(REPORT_BASES, {
            default: 'FullInventory',
            description: 'FullInventory, ConfigurationInventory (read-write variables) or SummaryInventory',
          }),
        ),
      },
      closed,
    ),
  },
  get_report: {
    description:
      'Has a 2.0.1 charger report the components and variables that match (GetReport → NotifyReport, stored)',
    params: Type.Object(
      {
        components: Type.Optional(Type.Array(ComponentRef, { minItems: 1, maxItems: 50 })),
        criteria: Type.Optional(
          Type.Array(Type.Enum(COMPONENT_CRITERIA, { description: 'Active, Available, Enabled or Problem' }), {
            minItems: 1,
            maxItems: 4,
            uniqueItems: true,
          }),
        ),
      },
      closed,
    ),
  },
};

type Params<N extends keyof typeof deviceModelSpecs> = Static<(typeof deviceModelSpecs)[N]['params']>;

/** The 2.0.1 ComponentVariableType of a reference. */
export function ocppComponentVariable(ref: ComponentRefParams): {
  component: Record<string, unknown>;
  variable?: Record<string, unknown>;
} {
  const evse =
    ref.evse === undefined ? {} : { evse: { id: ref.evse, ...(ref.connector ? { connectorId: ref.connector } : {}) } };
  const component = {
    name: ref.component,
    ...(ref.component_instance ? { instance: ref.component_instance } : {}),
    ...evse,
  };
  if (ref.variable === undefined) return { component };
  return {
    component,
    variable: { name: ref.variable, ...(ref.variable_instance ? { instance: ref.variable_instance } : {}) },
  };
}

export function baseReportPayload(p: Params<'get_base_report'>, requestId: number): Record<string, unknown> {
  return { requestId, reportBase: p.report_base ?? 'FullInventory' };
}

export function reportPayload(p: Params<'get_report'>, requestId: number): Record<string, unknown> {
  return {
    requestId,
    ...(p.components ? { componentVariable: p.components.map(ocppComponentVariable) } : {}),
    ...(p.criteria ? { componentCriteria: p.criteria } : {}),
  };
}
