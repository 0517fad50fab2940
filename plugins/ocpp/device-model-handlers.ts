/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-argument -- handlers read OcppPayload, schema-checked by ocpp-rpc (station.ts) */
/**
 * Device model and monitoring messages from 2.0.1 chargers: NotifyReport and
 * NotifyMonitoringReport (assembled from their parts, then stored), NotifyEvent (ocpp_event, and a
 * charger error for a problem), and what the answers to our device model and monitoring commands
 * tell us about the variables and monitors a charger holds.
 */
import type { OcppVersion } from './config.ts';
import { chargerError, ocppEvent } from './measurements.ts';
import type { OcppMonitor } from './monitors.ts';
import type { MonitorParams } from './monitoring.ts';
import { epochMs } from './protocol.ts';
import { tagOf, type Charger, type OcppPayload, type On, type Station } from './station.ts';

export function registerDeviceModel(station: Station, version: OcppVersion, on: On): void {
  if (version === 'ocpp1.6') return;
  const { ctx } = station;
  const now = () => ctx.clock.now();

  on('NotifyReport', (p, charger) => {
    station.reportParts.add(
      charger.identity,
      'report',
      p.requestId,
      p.seqNo,
      p.tbc ?? false,
      p.reportData ?? [],
      now(),
      (data) => station.variables.record(charger.identity, data as never, now()),
    );
    return {};
  });

  on('NotifyMonitoringReport', (p, charger) => {
    station.reportParts.add(
      charger.identity,
      'monitoring',
      p.requestId,
      p.seqNo,
      p.tbc ?? false,
      p.monitor ?? [],
      now(),
      (data) => {
        for (const m of data as OcppPayload[])
          station.monitors.put(charger.identity, m.component, m.variable, m.variableMonitoring, 'report', now());
      },
    );
    return {};
  });

  on('NotifyEvent', (p, charger) => {
    for (const e of p.eventData as OcppPayload[]) {
      const time = epochMs(e.timestamp);
      const evse = tagOf(e.component?.evse?.id);
      const severity =
        e.variableMonitoringId === undefined
          ? undefined
          : station.monitors.severityOf(charger.identity, e.variableMonitoringId);
      ctx.emit(
        ocppEvent.name,
        {
          severity,
          alerting: severity !== undefined && severity <= ctx.config.event_alert_severity,
          trigger: e.trigger,
          event_type: e.eventNotificationType,
          actual_value: e.actualValue,
          cleared: e.cleared,
          event_id: e.eventId,
          monitor_id: e.variableMonitoringId,
          tech_code: e.techCode,
          tech_info: e.techInfo,
        },
        { device: charger.identity, component: e.component.name, variable: e.variable.name, evse },
        time,
      );
      const problem = e.trigger === 'Alerting' || (e.variable?.name === 'Problem' && e.actualValue === 'true');
      if (!problem) continue;
      ctx.emit(
        chargerError.name,
        {
          code: `${e.component?.name}.${e.variable?.name}`,
          vendor_error_code: e.techCode,
          info: e.techInfo ?? e.actualValue,
        },
        { device: charger.identity, connector: evse, source: 'notify_event' },
        time,
      );
    }
    return {};
  });
}

/** What an answer (any: parts may be accepted) to a monitoring command tells us the charger now holds. */
export function recordDeviceModelAnswer(
  station: Station,
  charger: Charger,
  name: string,
  params: unknown,
  result: unknown,
): void {
  const at = station.ctx.clock.now();
  const id = charger.identity;
  switch (name) {
    case 'set_variable_monitoring': {
      const asked = (params as { monitors: MonitorParams[] }).monitors;
      // None in the answer to the GetVariables asking the charger's limits, before the parts (so below).
      const results = (result as { setMonitoringResult?: OcppPayload[] }).setMonitoringResult ?? [];
      results.forEach((r, i) => {
        if (r.status !== 'Accepted' || r.id === undefined) return;
        const monitor: OcppMonitor = { id: r.id, type: r.type, value: asked[i]?.value, severity: r.severity };
        if (asked[i]?.transaction !== undefined) monitor.transaction = asked[i].transaction;
        station.monitors.put(id, r.component, r.variable, [monitor], 'set', at);
      });
      return;
    }
    case 'clear_variable_monitoring': {
      const results =
        (result as { clearMonitoringResult?: Array<{ status: string; id: number }> }).clearMonitoringResult ?? [];
      station.monitors.remove(
        id,
        results.filter((r) => r.status !== 'Rejected').map((r) => r.id),
      );
      return;
    }
    case 'set_monitoring_base':
      if ((result as { status?: string }).status === 'Accepted') station.monitors.forget(id);
      return;
  }
}
