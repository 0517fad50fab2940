/**
 * Rules per device. Each query groups by the device labels, so Grafana makes one alert instance
 * per device, labelled device/kind/model/customer/site for the summary and for routing.
 * No data means no device matches (OK: a silent fleet is caught once by the stale-data rule);
 * an error keeps the last state (KeepLast) so a datasource outage does not resolve or re-fire
 * thousands of instances: the datasource rule raises one alert instead.
 */
import { siteStatus } from '../collector/runtime/measurements.ts';
import type { MeasurementSpec } from '../collector/sdk/index.ts';
import {
  connectorStatus,
  firmware as chargerFirmware,
  ocppEvent,
  securityEvent,
} from '../plugins/ocpp/measurements.ts';
import { ALERTING_SECURITY_EVENTS } from '../plugins/ocpp/security-events.ts';
import { sessionEnforcement } from '../collector/operations/sessions/session-measurements.ts';
import { hostCpu, hostDisk, hostMemory } from '../plugins/host/measurements.ts';
import { posPayment } from '../plugins/pos/measurements.ts';
import { terminalFirmware, terminalStatus } from '../plugins/tc200/measurements.ts';
import { DEVICE_LABELS, Query, type Aggregate } from '../dashboards/influxql.ts';
import { KIND, type KindName } from '../dashboards/kinds.ts';
import { latestStatus } from '../dashboards/status-queries.ts';
import type { RuleSpec, Severity } from './rule.ts';

/** The device labels, and the customer's contract (an inventory tag on every point) for routing. */
const L = [...DEVICE_LABELS, 'contract'];
const WHO =
  'on {{ $labels.device }} ({{ $labels.kind }} {{ $labels.model }}) at {{ $labels.customer }} / {{ $labels.site }}';
const device = { noDataState: 'OK', execErrState: 'KeepLast' } as const;

/** 1 per device whose last status is not `maintenance`: multiplied into metric rules. */
export function watchedDevices(kinds?: readonly KindName[]): Query {
  return Query.fromSubquery(latestStatus({ keep: L, window: { kind: 'range' }, fields: ['state'], kinds }))
    .select('count', 'state', 'watched')
    .whereField('state', '<>', 'maintenance')
    .byTags(...L)
    .within({ kind: 'none' });
}

function offline(
  uid: string,
  title: string,
  kinds: { only?: KindName[]; except?: KindName[] },
  severity: Severity,
): RuleSpec {
  const inner = latestStatus({
    keep: L,
    window: { kind: 'range' },
    fields: ['online', 'state', 'cause', 'dependents'],
    kinds: kinds.only,
  });
  if (kinds.except) for (const k of kinds.except) inner.whereTag('kind', '<>', k);
  return {
    uid,
    title,
    severity,
    ...device,
    // Down by itself only: behind an unreachable gateway or in a site outage, that alert speaks for
    // it; a gateway's own alert is fp-gateway-offline.
    query: Query.fromSubquery(inner)
      .select('last', 'online')
      .whereField('state', '<>', 'maintenance')
      .whereField('cause', '=', 'self')
      .whereField('dependents', '=', 0)
      .byTags(...L)
      .within({ kind: 'none' }),
    labels: { cause: 'self' },
    lookbackS: 600,
    reducer: 'last',
    evaluator: { type: 'lt', params: [1] },
    for: '0s',
    summary: `${title} ${WHO}`,
    description:
      'The runtime marked it offline after two missed reporting intervals (device_status.online = 0), outside any maintenance window.',
    subject: 'device',
  };
}

/** A device that others are reached through, down by itself: one alert for it and every device behind it. */
function gatewayOffline(): RuleSpec {
  const inner = latestStatus({
    keep: L,
    window: { kind: 'range' },
    fields: ['state', 'cause', 'dependents', 'dependents_offline'],
  });
  return {
    uid: 'fp-gateway-offline',
    title: 'Gateway offline',
    severity: 'critical',
    ...device,
    query: Query.fromSubquery(inner)
      .select('last', 'dependents_offline')
      .whereField('state', '=', 'offline')
      .whereField('cause', '=', 'self')
      .whereField('dependents', '>', 0)
      .byTags(...L)
      .within({ kind: 'none' }),
    lookbackS: 600,
    reducer: 'last',
    // Every row is an offline gateway; the value is how many devices behind it are down (maybe 0
    // for a moment, until their own silence expires).
    evaluator: { type: 'gt', params: [-1] },
    for: '0s',
    labels: { cause: 'gateway_offline' },
    summary: `Gateway offline ${WHO}: {{ $values.B }} device(s) behind it unreachable`,
    description:
      'Devices reached through it (inventory gateway: agent → terminals, back office → POS devices, plug → console) are offline because of it (device_status.cause = gateway_offline) and raise no alert of their own. The incident lists them.',
    subject: 'device',
  };
}

/** Most of a site offline at once (site_status.outage): one alert; its devices and gateways raise none. */
function siteOutage(): RuleSpec {
  return {
    uid: 'fp-site-outage',
    title: 'Site outage',
    severity: 'critical',
    ...device,
    query: Query.from(siteStatus).select('last', 'outage_devices').byTags('customer', 'site', 'contract'),
    lookbackS: 600,
    reducer: 'last',
    evaluator: { type: 'gt', params: [0] },
    for: '0s',
    labels: { cause: 'site_outage' },
    summary: 'Site outage at {{ $labels.customer }} / {{ $labels.site }}: {{ $values.B }} devices offline at once',
    description:
      'At least liveness.site_outage_share of the devices of the site went offline within liveness.site_outage_window_s (WAN, power): check the site, not the devices (their cause is site_outage). The incident lists them.',
    subject: 'site',
  };
}

/** A device that reports but says it cannot work (last device_status.state = error), for 2 min. */
function inError(uid: string, title: string, kind: KindName, why: string): RuleSpec {
  return {
    uid,
    title,
    severity: 'critical',
    ...device,
    query: Query.fromSubquery(latestStatus({ keep: L, window: { kind: 'range' }, fields: ['state'], kinds: [kind] }))
      .select('count', 'state', 'in_error')
      .whereField('state', '=', 'error')
      .byTags(...L)
      .within({ kind: 'none' }),
    lookbackS: 600,
    reducer: 'last',
    evaluator: { type: 'gt', params: [0] },
    for: '2m',
    summary: `${title} ${WHO}`,
    description: `It reports but says it cannot work (device_status.state = error): ${why}.`,
    subject: 'device',
  };
}

/** A per-device metric (`fn(field)` over the look-back) against a threshold, maintenance excluded. */
function metric<M extends MeasurementSpec<string, string>>(
  uid: string,
  title: string,
  m: M,
  field: keyof M['fields'] & string,
  fn: Aggregate,
  above: number,
  kinds: KindName[],
  opts: { lookbackS?: number; severity?: Severity; unit?: string; for?: string; where?: (q: Query) => Query } = {},
): RuleSpec {
  let q = Query.fromName<string>(m.name)
    .select(fn, field)
    .byTags(...L);
  if (opts.where) q = opts.where(q);
  return {
    uid,
    title,
    ...device,
    severity: opts.severity ?? 'warning',
    query: q,
    watched: watchedDevices(kinds),
    lookbackS: opts.lookbackS ?? 900,
    reducer: 'last',
    evaluator: { type: 'gt', params: [above] },
    for: opts.for ?? '5m',
    summary: `${title} ${WHO}`,
    description: `${m.name}.${field} (${fn} over ${(opts.lookbackS ?? 900) / 60} min) is {{ $values.B }}${opts.unit ?? ''}, above ${above}${opts.unit ?? ''}.`,
    subject: 'device',
  };
}

/** Devices whose latest value of a string field is one of `values` (one series each, value = 1). */
function latestIs(m: MeasurementSpec, field: string, values: string[], keep: string[] = []): Query {
  const inner = Query.fromName<string>(m.name)
    .select('last', field)
    .byTags(...L, ...keep);
  return Query.fromSubquery(inner)
    .select('count', field, 'matches')
    .whereAnyOf(field, values)
    .byTags(...L)
    .within({ kind: 'none' });
}

export function deviceRules(): RuleSpec[] {
  return [
    offline('fp-device-offline', 'Device offline', { except: [KIND.charger] }, 'critical'),
    offline('fp-charger-offline', 'Charger offline', { only: [KIND.charger] }, 'critical'),
    gatewayOffline(),
    siteOutage(),
    inError('fp-terminal-error', 'Terminal in error state', KIND.terminal, 'see its error code on the device page'),
    inError(
      'fp-pos-error',
      'POS device in error state',
      KIND.pos,
      'its back office reported it unhealthy (printer out, card reader)',
    ),
    inError('fp-pc-error', 'PC in error state', KIND.pc, 'its agent reported an error it cannot recover from'),
    {
      uid: 'fp-charger-faulted',
      title: 'Charger faulted',
      severity: 'critical',
      ...device,
      query: latestIs(connectorStatus, 'status', ['Faulted'], ['connector']),
      watched: watchedDevices([KIND.charger]),
      lookbackS: 86400,
      reducer: 'last',
      evaluator: { type: 'gt', params: [0] },
      for: '0s',
      summary: `Charger faulted ${WHO}`,
      description: '{{ $values.B }} connector(s) report Faulted in their last StatusNotification.',
      subject: 'device',
    },
    {
      uid: 'fp-terminal-firmware-failed',
      title: 'Terminal firmware update failed',
      severity: 'warning',
      ...device,
      query: latestIs(terminalFirmware, 'state', ['update_failed']),
      watched: watchedDevices([KIND.terminal]),
      lookbackS: 86400,
      reducer: 'last',
      evaluator: { type: 'gt', params: [0] },
      for: '0s',
      summary: `Firmware update failed ${WHO}`,
      description: 'The last firmware step reported is update_failed; the terminal runs its old firmware.',
      subject: 'device',
    },
    {
      uid: 'fp-charger-firmware-failed',
      title: 'Charger firmware update failed',
      severity: 'warning',
      ...device,
      query: latestIs(chargerFirmware, 'status', [
        'InstallationFailed',
        'DownloadFailed',
        'InstallVerificationFailed',
        'InvalidSignature',
      ]),
      watched: watchedDevices([KIND.charger]),
      lookbackS: 86400,
      reducer: 'last',
      evaluator: { type: 'gt', params: [0] },
      for: '0s',
      summary: `Firmware update failed ${WHO}`,
      description: 'The last FirmwareStatusNotification is a failure.',
      subject: 'device',
    },
    {
      ...metric(
        'fp-charger-security-event',
        'Charger security event',
        securityEvent,
        'type',
        'count',
        0,
        [KIND.charger],
        {
          severity: 'critical',
          for: '0s',
          where: (q) => q.whereAnyOf('type', ALERTING_SECURITY_EVENTS),
        },
      ),
      description: `{{ $values.B }} security event(s) in 15 min that never happen in normal operation (${ALERTING_SECURITY_EVENTS.join(', ')}): see ocpp_security_event for the charger.`,
    },
    {
      // The level is the plugin's configuration (event_alert_severity), applied where the event is
      // written: a rule file cannot read it, and one rule serves every configured level.
      ...metric(
        'fp-charger-severe-event',
        'Charger event at alert severity',
        ocppEvent,
        'severity',
        'count',
        0,
        [KIND.charger],
        {
          severity: 'critical',
          for: '0s',
          where: (q) => q.whereField('alerting', '=', true),
        },
      ),
      description:
        '{{ $values.B }} NotifyEvent(s) in 15 min from a monitor of severity plugins.ocpp.event_alert_severity or more severe (0 Danger … 3 Critical): see ocpp_event (component, variable, actual_value) for the charger.',
    },
    metric('fp-terminal-high-cpu', 'High CPU (terminal)', terminalStatus, 'cpu_pct', 'mean', 90, [KIND.terminal], {
      unit: '%',
    }),
    metric(
      'fp-terminal-high-memory',
      'High memory (terminal)',
      terminalStatus,
      'mem_pct',
      'mean',
      90,
      [KIND.terminal],
      { unit: '%' },
    ),
    metric(
      'fp-terminal-disk-full',
      'Disk nearly full (terminal)',
      terminalStatus,
      'disk_pct',
      'max',
      90,
      [KIND.terminal],
      { unit: '%' },
    ),
    metric('fp-pc-high-cpu', 'High CPU (PC)', hostCpu, 'usage_pct', 'mean', 90, [KIND.pc], { unit: '%' }),
    metric('fp-pc-high-memory', 'High memory (PC)', hostMemory, 'used_pct', 'mean', 90, [KIND.pc], { unit: '%' }),
    metric('fp-pc-disk-full', 'Disk nearly full (PC)', hostDisk, 'used_pct', 'max', 90, [KIND.pc], { unit: '%' }),
    {
      // Every enforcement outcome (server command, the station's agent, the plug) lands in
      // session_enforcement. Maintenance is filtered in the query, not by the watched join: a
      // console behind a plug has no liveness series of its own, and its failures must alert too.
      uid: 'fp-session-enforcement-failed',
      title: 'Session expiry not enforced',
      severity: 'critical',
      ...device,
      query: Query.from(sessionEnforcement)
        .select('sum', 'failed')
        .whereField('maintenance', '=', 0)
        .byTags(...L),
      lookbackS: 900,
      reducer: 'last',
      evaluator: { type: 'gt', params: [0] },
      for: '0s',
      summary: `Session expiry not enforced ${WHO}`,
      description:
        '{{ $values.B }} timed session(s) on this station ended in the last 15 min without being locked, logged off or powered off (session_enforcement.failed = 1; an end the station enforced itself while unreachable does not count): ' +
        "the customer may still be playing. Why: GET /api/v1/sessions?station={{ $labels.device }} (error, enforced_by) and the Gaming venues board; the station's own record is host_session.",
      subject: 'device',
    },
    metric('fp-pos-payment-failures', 'POS payment failures spiking', posPayment, 'amount', 'count', 4, [KIND.pos], {
      for: '0s',
      where: (q) => q.whereTag('result', '=', 'failure'),
    }),
  ];
}
