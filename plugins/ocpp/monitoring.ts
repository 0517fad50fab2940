/**
 * OCPP 2.0.1 monitoring in the plugin's words: monitors on device-model variables (a threshold,
 * a delta or a period, each with the severity of the events it raises), the monitoring base and
 * level, and the monitoring report, mapped to their payloads. Pure: no I/O.
 */
import { Type, type Static } from '../../collector/sdk/index.ts';
import { ComponentRef, ocppComponentVariable } from './device-model.ts';

const closed = { additionalProperties: false } as const;

export const MONITOR_TYPES = ['UpperThreshold', 'LowerThreshold', 'Delta', 'Periodic', 'PeriodicClockAligned'] as const;
export const MONITORING_BASES = ['All', 'FactoryDefault', 'HardWiredOnly'] as const;
export const MONITORING_CRITERIA = ['ThresholdMonitoring', 'DeltaMonitoring', 'PeriodicMonitoring'] as const;

/**
 * 0 Danger, 1 Hardware Failure, 2 System Failure, 3 Critical, 4 Error, 5 Alert, 6 Warning, 7 Notice,
 * 8 Informational, 9 Debug.
 */
export const Severity = Type.Integer({
  minimum: 0,
  maximum: 9,
  description: '0 Danger … 3 Critical, 4 Error … 9 Debug (0 is the most severe)',
});

const Monitor = Type.Object(
  {
    ...ComponentRef.properties,
    variable: Type.String({ minLength: 1, maxLength: 50, description: 'The variable watched' }),
    type: Type.Enum(MONITOR_TYPES, {
      description: 'UpperThreshold, LowerThreshold, Delta, Periodic or PeriodicClockAligned',
    }),
    value: Type.Number({ description: 'Threshold or delta; the interval, s, for Periodic and PeriodicClockAligned' }),
    severity: Severity,
    transaction: Type.Optional(Type.Boolean({ description: 'Only while a transaction goes on; default false' })),
    id: Type.Optional(Type.Integer({ minimum: 0, description: 'Replaces the monitor of this id; default a new one' })),
  },
  closed,
);

export const monitoringSpecs = {
  set_variable_monitoring: {
    description:
      'Installs monitors on 2.0.1 device-model variables (SetVariableMonitoring); a crossing raises NotifyEvent → ocpp_event',
    params: Type.Object({ monitors: Type.Array(Monitor, { minItems: 1, maxItems: 50 }) }, closed),
  },
  clear_variable_monitoring: {
    description: 'Removes monitors by id (ClearVariableMonitoring)',
    params: Type.Object(
      { ids: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 50, uniqueItems: true }) },
      closed,
    ),
  },
  set_monitoring_base: {
    description:
      'Restores the monitors a 2.0.1 charger runs: All, FactoryDefault or HardWiredOnly (SetMonitoringBase); ask get_monitoring_report after',
    params: Type.Object(
      { base: Type.Enum(MONITORING_BASES, { description: 'All, FactoryDefault or HardWiredOnly' }) },
      closed,
    ),
  },
  set_monitoring_level: {
    description: 'Has a 2.0.1 charger report only events of this severity or more severe (SetMonitoringLevel)',
    params: Type.Object({ severity: Severity }, closed),
  },
  get_monitoring_report: {
    description: 'Has a 2.0.1 charger report its monitors (GetMonitoringReport → NotifyMonitoringReport, stored)',
    params: Type.Object(
      {
        components: Type.Optional(Type.Array(ComponentRef, { minItems: 1, maxItems: 50 })),
        criteria: Type.Optional(
          Type.Array(
            Type.Enum(MONITORING_CRITERIA, {
              description: 'ThresholdMonitoring, DeltaMonitoring or PeriodicMonitoring',
            }),
            { minItems: 1, maxItems: 3, uniqueItems: true },
          ),
        ),
      },
      closed,
    ),
  },
};

type Params<N extends keyof typeof monitoringSpecs> = Static<(typeof monitoringSpecs)[N]['params']>;
export type MonitorParams = Params<'set_variable_monitoring'>['monitors'][number];

export function setMonitoringPayload(p: Params<'set_variable_monitoring'>): Record<string, unknown> {
  return {
    setMonitoringData: p.monitors.map((m) => ({
      ...(m.id !== undefined ? { id: m.id } : {}),
      ...(m.transaction !== undefined ? { transaction: m.transaction } : {}),
      value: m.value,
      type: m.type,
      severity: m.severity,
      ...ocppComponentVariable(m),
    })),
  };
}

export function monitoringReportPayload(
  p: Params<'get_monitoring_report'>,
  requestId: number,
): Record<string, unknown> {
  return {
    requestId,
    ...(p.components ? { componentVariable: p.components.map(ocppComponentVariable) } : {}),
    ...(p.criteria ? { monitoringCriteria: p.criteria } : {}),
  };
}

/** Every monitor of a SetVariableMonitoring answer accepted, or which were not and why. */
export function monitoringRefusals(answer: Record<string, unknown>): string | undefined {
  const results = (answer.setMonitoringResult ?? []) as Array<{ status: string; variable: { name: string } }>;
  const refused = results.filter((r) => r.status !== 'Accepted').map((r) => `${r.variable.name}: ${r.status}`);
  return refused.length ? refused.join(', ') : undefined;
}

/** Monitors a ClearVariableMonitoring answer did not remove, or undefined (NotFound counts as removed). */
export function clearRefusals(answer: Record<string, unknown>): string | undefined {
  const results = (answer.clearMonitoringResult ?? []) as Array<{ status: string; id: number }>;
  const refused = results.filter((r) => r.status === 'Rejected').map((r) => `${r.id}: Rejected`);
  return refused.length ? refused.join(', ') : undefined;
}
