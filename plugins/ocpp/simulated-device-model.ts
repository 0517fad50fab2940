/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call
   -- frames from the backend, checked by ocpp-rpc's strict mode before a handler sees them */
/**
 * The device model of a simulated 2.0.1 charger: a few components and variables, limits small
 * enough that the backend must split (ItemsPerMessage 4), reports sent in several parts after the
 * answer (NotifyReport, NotifyMonitoringReport), the monitors it is given, and NotifyEvent when
 * a monitored value crosses its threshold or moves by its delta. Periodic monitors are kept and
 * reported but raise nothing here.
 */
import type { RPCClient } from 'ocpp-rpc';
import { rpcError } from './protocol.ts';
import type { OcppPayload } from './station.ts';

interface SimVariable {
  component: { name: string; evse?: { id: number } };
  variable: { name: string; instance?: string };
  value: string;
  mutability: 'ReadOnly' | 'ReadWrite';
  dataType: 'integer' | 'decimal' | 'boolean' | 'string';
  unit?: string;
}

interface SimMonitor {
  id: number;
  at: SimVariable;
  type: string;
  value: number;
  severity: number;
  transaction: boolean;
  kind: 'PreconfiguredMonitor' | 'CustomMonitor';
}

/** Items per GetVariables / SetVariables / report part: small, so that splitting shows. */
export const SIM_ITEMS_PER_MESSAGE = 4;

const sameName = (a: string | undefined, b: string | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

export class SimulatedDeviceModel {
  private readonly variables: SimVariable[];
  private readonly monitors = new Map<number, SimMonitor>();
  private nextMonitorId = 2;
  private nextEventId = 1;
  /** SetMonitoringLevel: events of monitors above it (less severe) are not sent. */
  private level = 9;

  constructor(evses: number) {
    const v = (
      component: SimVariable['component'],
      name: string,
      value: string,
      mutability: SimVariable['mutability'],
      dataType: SimVariable['dataType'],
      extra: Partial<SimVariable> = {},
    ): SimVariable => ({ component, variable: { name }, value, mutability, dataType, ...extra });
    const limits = ['GetVariables', 'SetVariables', 'GetReport'].flatMap((instance) => [
      {
        ...v({ name: 'DeviceDataCtrlr' }, 'ItemsPerMessage', String(SIM_ITEMS_PER_MESSAGE), 'ReadOnly', 'integer'),
        variable: { name: 'ItemsPerMessage', instance },
      },
      {
        ...v({ name: 'DeviceDataCtrlr' }, 'BytesPerMessage', '4096', 'ReadOnly', 'integer'),
        variable: { name: 'BytesPerMessage', instance },
      },
    ]);
    this.variables = [
      ...limits,
      v({ name: 'OCPPCommCtrlr' }, 'HeartbeatInterval', '300', 'ReadWrite', 'integer', { unit: 's' }),
      v({ name: 'OCPPCommCtrlr' }, 'NetworkConfigurationPriority', '0', 'ReadWrite', 'string'),
      v({ name: 'SampledDataCtrlr' }, 'TxUpdatedInterval', '60', 'ReadWrite', 'integer', { unit: 's' }),
      v({ name: 'ChargingStation' }, 'Problem', 'false', 'ReadOnly', 'boolean'),
      ...Array.from({ length: evses }, (_, i) => [
        v({ name: 'EVSE', evse: { id: i + 1 } }, 'AvailabilityState', 'Available', 'ReadOnly', 'string'),
        v({ name: 'EVSE', evse: { id: i + 1 } }, 'Power', '0', 'ReadOnly', 'decimal', { unit: 'W' }),
        v({ name: 'TempSensor', evse: { id: i + 1 } }, 'Temperature', '25', 'ReadWrite', 'decimal', {
          unit: 'Celsius',
        }),
      ]).flat(),
    ];
    // A factory monitor, as chargers ship with: the first EVSE's temperature over 80 °C is critical.
    const hot = this.find({ name: 'TempSensor', evse: { id: 1 } }, { name: 'Temperature' });
    if (hot)
      this.monitors.set(1, {
        id: 1,
        at: hot,
        type: 'UpperThreshold',
        value: 80,
        severity: 3,
        transaction: false,
        kind: 'PreconfiguredMonitor',
      });
  }

  serve(client: RPCClient): void {
    const handle = (action: string, fn: (params: OcppPayload) => unknown) =>
      client.handle(action, (async ({ params }: { params: unknown }) => fn(params)) as never);
    const within = (action: string, items: unknown[]) => {
      if (items.length > SIM_ITEMS_PER_MESSAGE)
        throw rpcError('OccurrenceConstraintViolation', `${action} takes at most ${SIM_ITEMS_PER_MESSAGE} items`);
    };
    handle('GetVariables', (p) => {
      within('GetVariables', p.getVariableData);
      return {
        getVariableResult: p.getVariableData.map((d: OcppPayload) => {
          const found = this.find(d.component, d.variable);
          return found
            ? { attributeStatus: 'Accepted', component: d.component, variable: d.variable, attributeValue: found.value }
            : { attributeStatus: 'UnknownVariable', component: d.component, variable: d.variable };
        }),
      };
    });
    handle('SetVariables', (p) => {
      within('SetVariables', p.setVariableData);
      const events: unknown[] = [];
      const results = p.setVariableData.map((d: OcppPayload) => {
        const found = this.find(d.component, d.variable);
        // Passwords and profiles are the security block's: accepted, not part of this model.
        if (!found)
          return {
            attributeStatus: d.component.name === 'SecurityCtrlr' ? 'Accepted' : 'UnknownVariable',
            component: d.component,
            variable: d.variable,
          };
        if (found.mutability === 'ReadOnly')
          return { attributeStatus: 'Rejected', component: d.component, variable: d.variable };
        events.push(...this.change(found, String(d.attributeValue)));
        return { attributeStatus: 'Accepted', component: d.component, variable: d.variable };
      });
      if (events.length) this.later(client, 'NotifyEvent', [events]);
      return { setVariableResult: results };
    });
    handle('GetBaseReport', (p) => {
      const data = this.variables.filter((x) =>
        p.reportBase === 'ConfigurationInventory'
          ? x.mutability === 'ReadWrite'
          : p.reportBase === 'SummaryInventory'
            ? ['AvailabilityState', 'Problem'].includes(x.variable.name)
            : true,
      );
      this.report(client, p.requestId, data);
      return { status: 'Accepted' };
    });
    handle('GetReport', (p) => {
      const data = this.variables.filter(
        (x) =>
          (!p.componentVariable ||
            p.componentVariable.some((cv: OcppPayload) => this.matches(x, cv.component, cv.variable))) &&
          (!p.componentCriteria || p.componentCriteria.some((c: string) => this.meets(x, c))),
      );
      if (!data.length) return { status: 'EmptyResultSet' };
      this.report(client, p.requestId, data);
      return { status: 'Accepted' };
    });
    handle('SetVariableMonitoring', (p) => ({
      setMonitoringResult: p.setMonitoringData.map((d: OcppPayload) => {
        const at = this.find(d.component, d.variable);
        const base = { type: d.type, severity: d.severity, component: d.component, variable: d.variable };
        if (!at) return { ...base, status: 'UnknownVariable' };
        if (at.dataType === 'string' || at.dataType === 'boolean') return { ...base, status: 'UnsupportedMonitorType' };
        const id = d.id ?? this.nextMonitorId++;
        this.monitors.set(id, {
          id,
          at,
          type: d.type,
          value: d.value,
          severity: d.severity,
          transaction: d.transaction ?? false,
          kind: 'CustomMonitor',
        });
        return { ...base, id, status: 'Accepted' };
      }),
    }));
    handle('ClearVariableMonitoring', (p) => ({
      clearMonitoringResult: p.id.map((id: number) => {
        const m = this.monitors.get(id);
        if (!m) return { id, status: 'NotFound' };
        // Factory monitors are part of the charger: restored by SetMonitoringBase, never cleared.
        if (m.kind !== 'CustomMonitor') return { id, status: 'Rejected' };
        this.monitors.delete(id);
        return { id, status: 'Accepted' };
      }),
    }));
    handle('SetMonitoringBase', (p) => {
      for (const [id, m] of this.monitors)
        if (p.monitoringBase !== 'All' && m.kind === 'CustomMonitor') this.monitors.delete(id);
      if (p.monitoringBase === 'HardWiredOnly') this.monitors.clear();
      return { status: 'Accepted' };
    });
    handle('SetMonitoringLevel', (p) => ((this.level = p.severity), { status: 'Accepted' }));
    handle('GetMonitoringReport', (p) => {
      const kinds: Record<string, string[]> = {
        ThresholdMonitoring: ['UpperThreshold', 'LowerThreshold'],
        DeltaMonitoring: ['Delta'],
        PeriodicMonitoring: ['Periodic', 'PeriodicClockAligned'],
      };
      const monitors = [...this.monitors.values()].filter(
        (m) =>
          (!p.monitoringCriteria || p.monitoringCriteria.some((c: string) => kinds[c].includes(m.type))) &&
          (!p.componentVariable ||
            p.componentVariable.some((cv: OcppPayload) => this.matches(m.at, cv.component, cv.variable))),
      );
      if (!monitors.length) return { status: 'EmptyResultSet' };
      const parts = chunks(monitors, 2).map((part) =>
        part.map((m) => ({
          component: m.at.component,
          variable: m.at.variable,
          variableMonitoring: [
            { id: m.id, transaction: m.transaction, value: m.value, type: m.type, severity: m.severity },
          ],
        })),
      );
      this.later(client, 'NotifyMonitoringReport', parts, p.requestId);
      return { status: 'Accepted' };
    });
    handle('SetNetworkProfile', (p) =>
      p.connectionData.ocppTransport === 'SOAP' ? { status: 'Rejected' } : { status: 'Accepted' },
    );
  }

  /** A new value of a variable, as a sensor would give it; the events its monitors raise. */
  private change(at: SimVariable, value: string): unknown[] {
    const before = Number(at.value);
    at.value = value;
    const now = Number(value);
    const events: unknown[] = [];
    for (const m of this.monitors.values()) {
      if (m.at !== at || m.severity > this.level) continue;
      const over = (x: number) => (m.type === 'UpperThreshold' ? x > m.value : x < m.value);
      let trigger: string | undefined;
      let cleared = false;
      if (m.type === 'UpperThreshold' || m.type === 'LowerThreshold') {
        // Crossing into the bad side raises it; crossing back clears it.
        if (over(now) !== over(before)) trigger = 'Alerting';
        cleared = !over(now);
      } else if (m.type === 'Delta' && Math.abs(now - before) >= m.value) trigger = 'Delta';
      if (!trigger) continue;
      events.push({
        eventId: this.nextEventId++,
        timestamp: new Date().toISOString(),
        trigger,
        actualValue: value,
        ...(cleared ? { cleared } : {}),
        variableMonitoringId: m.id,
        eventNotificationType: m.kind,
        component: at.component,
        variable: at.variable,
      });
    }
    return events;
  }

  private find(
    component: { name: string; instance?: string; evse?: { id: number } },
    variable?: { name: string; instance?: string },
  ) {
    return variable && this.variables.find((x) => this.matches(x, component, variable));
  }

  private matches(
    x: SimVariable,
    component: { name: string; evse?: { id: number } },
    variable?: { name: string; instance?: string },
  ) {
    if (!sameName(x.component.name, component.name)) return false;
    if (component.evse && component.evse.id !== x.component.evse?.id) return false;
    if (!variable) return true;
    return sameName(x.variable.name, variable.name) && sameName(x.variable.instance, variable.instance);
  }

  /** Active / Available / Enabled / Problem: a component that says so of itself. */
  private meets(x: SimVariable, criterion: string): boolean {
    const flags = this.variables.filter(
      (y) =>
        y.component === x.component ||
        (y.component.name === x.component.name && y.component.evse?.id === x.component.evse?.id),
    );
    if (criterion === 'Problem') return flags.some((y) => y.variable.name === 'Problem' && y.value === 'true');
    if (criterion === 'Available')
      return flags.some((y) => y.variable.name === 'AvailabilityState' && y.value === 'Available');
    return true; // everything simulated is active and enabled
  }

  private report(client: RPCClient, requestId: number, data: SimVariable[]): void {
    const parts = chunks(data, SIM_ITEMS_PER_MESSAGE - 1).map((part) =>
      part.map((x) => ({
        component: x.component,
        variable: x.variable,
        variableAttribute: [
          { type: 'Actual', value: x.value, mutability: x.mutability, persistent: true, constant: false },
        ],
        variableCharacteristics: {
          dataType: x.dataType,
          supportsMonitoring: x.dataType !== 'string',
          ...(x.unit ? { unit: x.unit } : {}),
        },
      })),
    );
    this.later(client, 'NotifyReport', parts, requestId);
  }

  /** Sends the parts after the answer to the request (a charger answers first, then reports). */
  private later(client: RPCClient, action: string, parts: unknown[][], requestId?: number): void {
    setImmediate(() => {
      void (async () => {
        for (const [seqNo, part] of parts.entries()) {
          const field = action === 'NotifyReport' ? 'reportData' : action === 'NotifyEvent' ? 'eventData' : 'monitor';
          await client.call(action, {
            ...(requestId !== undefined ? { requestId } : {}),
            generatedAt: new Date().toISOString(),
            seqNo,
            tbc: seqNo < parts.length - 1,
            [field]: part,
          });
        }
      })().catch(() => {});
    });
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}
