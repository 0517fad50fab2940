/**
 * One probe per alert rule: how to make the rule's input a given number for one device (or
 * collector host), as the runtime and the plugins would write it. The edge proofs write the
 * threshold itself ("just inside": gt and lt are strict) and the threshold one `step` past it;
 * the `for:` proofs write one reading a minute, past the threshold or healthy.
 */
import { sessionEnforcement } from '../../collector/operations/sessions/session-measurements.ts';
import { deviceStatus, siteStatus } from '../../collector/runtime/measurements.ts';
import { int, type Point } from '../../collector/sdk/point.ts';
import { selfMetric } from '../../dashboards/self-metric-names.ts';
import { hostCpu, hostDisk, hostMemory } from '../../plugins/host/measurements.ts';
import {
  chargingLimit,
  connectorStatus,
  firmware as chargerFirmware,
  ocppEvent,
  securityEvent,
  sitePower,
} from '../../plugins/ocpp/measurements.ts';
import { posPayment } from '../../plugins/pos/measurements.ts';
import { terminalFirmware, terminalStatus } from '../../plugins/tc200/measurements.ts';

export interface Probe {
  /** Distance between "just inside" and "just past", in the unit of the rule's reduced value. */
  step: number;
  /** A healthy minute's value when it is not the threshold itself (event counts: none happened). */
  healthy?: number;
  /** Points that make the rule's reduced value `value` at `now` for `id`. */
  edge(id: string, value: number, now: number): Point[];
  /** One minute's reading at `t`; `total` is the sum of the values so far and `n` the readings so far (counters). */
  reading(id: string, value: number, t: number, total: number, n: number): Point[];
}

const MIN = 60_000;
const labels = (device: string, kind: string) => ({
  device,
  kind,
  model: 'EDGE-1',
  customer: 'edge-co',
  site: 'edge-s1',
});

/** A device down by itself (cause self) that no other device is reached through, unless `gateway` says so. */
function status(
  device: string,
  kind: string,
  t: number,
  state = 'online',
  gateway = { dependents: 0, dependentsOffline: 0 },
): Point {
  const online = state === 'online' || state === 'error' ? 1 : 0;
  return {
    measurement: deviceStatus.name,
    tags: labels(device, kind),
    fields: {
      online: int(online),
      state,
      last_seen_s: int(online ? 30 : 300),
      cause: 'self',
      dependents: int(gateway.dependents),
      dependents_offline: int(gateway.dependentsOffline),
    },
    time: t,
  };
}

/** A level read as one reading (last state, latest step): the edge is one reading a minute ago. */
function level(reading: Probe['reading'], step = 1, healthy?: number): Probe {
  return { step, healthy, reading, edge: (id, v, now) => reading(id, v, now - MIN, v, 1) };
}

/** A mean or max over the look-back: the edge is two readings of the same value. */
function gauge(measurement: string, field: string, kind: string, tags: Record<string, string> = {}): Probe {
  const reading: Probe['reading'] = (id, v, t) => [
    status(id, kind, t),
    { measurement, tags: { ...labels(id, kind), ...tags }, fields: { [field]: v }, time: t },
  ];
  return {
    step: 0.5,
    reading,
    edge: (id, v, now) => [...reading(id, v, now - 2 * MIN, 0, 1), ...reading(id, v, now - MIN, 0, 2)],
  };
}

/**
 * A collector counter (increase over the look-back): the edge is the counter going up by `value`.
 * `besides`: tags of another series of the same host that climbs by 1,000 a minute meanwhile and
 * that the rule's filter must not count.
 */
function counter(name: string, tags: Record<string, string>, besides?: Record<string, string>): Probe {
  const point = (host: string, value: number, t: number, other = tags): Point => ({
    measurement: name,
    tags: { host, ...other },
    fields: { value },
    time: t,
  });
  const noise = (host: string, t: number) => (besides ? [point(host, 1_000 * Math.floor(t / MIN), t, besides)] : []);
  return {
    step: 1,
    healthy: 0,
    reading: (id, _v, t, total) => [point(id, 100 + total, t), ...noise(id, t)],
    edge: (id, v, now) => [
      point(id, 100, now - 3 * MIN),
      point(id, 100 + v, now - MIN),
      ...noise(id, now - 3 * MIN),
      ...noise(id, now - MIN),
    ],
  };
}

/** A collector gauge: the edge is two readings of the same value (a min or max over the look-back). */
function selfGauge(name: string): Probe {
  const point = (host: string, value: number, t: number): Point => ({
    measurement: name,
    tags: { host },
    fields: { value },
    time: t,
  });
  return {
    step: 1,
    reading: (id, v, t) => [point(id, v, t)],
    edge: (id, v, now) => [point(id, v, now - 2 * MIN), point(id, v, now - MIN)],
  };
}

/**
 * The API's request-duration histogram: 100 requests a minute of `value` seconds each, on one
 * route, besides 100 a minute on another route taking `value` as well (the mean is over all).
 */
function apiDuration(): Probe {
  const HIST = { route: '/api/v1/devices/:id', method: 'GET', status_class: '2xx' };
  const point = (host: string, sum: number, count: number, t: number, route = HIST.route): Point => ({
    measurement: selfMetric.httpDuration,
    tags: { host, ...HIST, route },
    fields: { sum, count },
    time: t,
  });
  const both = (host: string, sum: number, count: number, t: number) => [
    point(host, sum, count, t),
    point(host, sum, count, t, '/api/v1/commands'),
  ];
  return {
    step: 0.5,
    reading: (id, _v, t, total, n) => both(id, 100 * total, 100 * n, t),
    edge: (id, v, now) => [...both(id, 50, 1_000, now - 3 * MIN), ...both(id, 50 + 100 * v, 1_100, now - MIN)],
  };
}

const inError = (kind: string) => level((id, v, t) => [status(id, kind, t, v > 0 ? 'error' : 'online')]);
const offline = (kind: string) => level((id, v, t) => [status(id, kind, t, v >= 1 ? 'online' : 'offline')]);

function firmwareStep(kind: string, measurement: string, field: string, ok: string, failed: string): Probe {
  return level((id, v, t) => [
    status(id, kind, t),
    { measurement, tags: labels(id, kind), fields: { [field]: v > 0 ? failed : ok }, time: t },
  ]);
}

export const PROBES: Record<string, Probe> = {
  'fp-device-offline': offline('terminal'),
  'fp-charger-offline': offline('charger'),
  // v ≥ 0: an agent with 5 terminals is offline by itself, v of them already down because of it (0
  // until their own silence expires: it must alert then too); below that, the agent is online.
  'fp-gateway-offline': level((id, v, t) => [
    status(id, 'pc', t, v >= 0 ? 'offline' : 'online', { dependents: 5, dependentsOffline: Math.max(0, v) }),
  ]),
  // v devices of site `id` offline in one outage (site_status, as liveness writes it per site).
  'fp-site-outage': level((id, v, t) => [
    {
      measurement: siteStatus.name,
      tags: { customer: 'edge-co', site: id, contract: 'standard' },
      fields: {
        total: int(50),
        offline: int(v),
        offline_share: v / 50,
        outage: int(v > 0 ? 1 : 0),
        outage_devices: int(v),
      },
      time: t,
    },
  ]),
  'fp-terminal-error': inError('terminal'),
  'fp-pos-error': inError('pos'),
  'fp-pc-error': inError('pc'),
  'fp-charger-faulted': level((id, v, t) => [
    status(id, 'charger', t),
    ...Array.from({ length: Math.max(1, v) }, (_, c) => ({
      measurement: connectorStatus.name,
      tags: { ...labels(id, 'charger'), connector: String(c + 1) },
      fields: { status: c < v ? 'Faulted' : 'Available', error_code: 'NoError' },
      time: t,
    })),
  ]),
  // v critical events; a routine event beside them must never count.
  'fp-charger-security-event': level((id, v, t) => [
    status(id, 'charger', t),
    {
      measurement: securityEvent.name,
      tags: labels(id, 'charger'),
      fields: { type: 'StartupOfTheDevice', critical: false },
      time: t - 1,
    },
    ...Array.from({ length: Math.max(0, v) }, (_, i) => ({
      measurement: securityEvent.name,
      tags: labels(id, 'charger'),
      fields: { type: 'TamperDetectionActivated', critical: true },
      time: t + i + 1,
    })),
  ]),
  // v events at the alert severity; one just below it (alerting false) beside them must never count.
  'fp-charger-severe-event': level((id, v, t) => [
    status(id, 'charger', t),
    {
      measurement: ocppEvent.name,
      tags: { ...labels(id, 'charger'), component: 'TempSensor', variable: 'Temperature' },
      fields: { severity: int(4), alerting: false, trigger: 'Alerting', actual_value: '70' },
      time: t - 1,
    },
    ...Array.from({ length: Math.max(0, v) }, (_, i) => ({
      measurement: ocppEvent.name,
      tags: { ...labels(id, 'charger'), component: 'TempSensor', variable: 'Temperature' },
      fields: { severity: int(3), alerting: true, trigger: 'Alerting', actual_value: '85' },
      time: t + i + 1,
    })),
  ]),
  // Site `id` drawing v W over its 20 kW limit (ocpp_site_power has no device tag).
  'fp-site-over-power-limit': level((id, v, t) => [
    {
      measurement: sitePower.name,
      tags: { customer: 'edge-co', site: id },
      fields: { limit_w: 20_000, drawn_w: 20_000 + v, sessions: int(2) },
      time: t,
    },
  ]),
  // Connector 1 drawing v W over its 7 kW limit; connector 2, well under its own, must not hide it.
  'fp-charger-ignoring-profile': level((id, v, t) => [
    status(id, 'charger', t),
    {
      measurement: chargingLimit.name,
      tags: { ...labels(id, 'charger'), connector: '1' },
      fields: { limit_w: 7000, drawn_w: 7000 + v },
      time: t,
    },
    {
      measurement: chargingLimit.name,
      tags: { ...labels(id, 'charger'), connector: '2' },
      fields: { limit_w: 7000, drawn_w: 1000 },
      time: t,
    },
  ]),
  'fp-terminal-firmware-failed': firmwareStep('terminal', terminalFirmware.name, 'state', 'updated', 'update_failed'),
  'fp-charger-firmware-failed': firmwareStep(
    'charger',
    chargerFirmware.name,
    'status',
    'Installed',
    'InstallationFailed',
  ),
  'fp-terminal-high-cpu': gauge(terminalStatus.name, 'cpu_pct', 'terminal'),
  'fp-terminal-high-memory': gauge(terminalStatus.name, 'mem_pct', 'terminal'),
  'fp-terminal-disk-full': gauge(terminalStatus.name, 'disk_pct', 'terminal'),
  'fp-pc-high-cpu': gauge(hostCpu.name, 'usage_pct', 'pc'),
  'fp-pc-high-memory': gauge(hostMemory.name, 'used_pct', 'pc'),
  'fp-pc-disk-full': gauge(hostDisk.name, 'used_pct', 'pc', { mount: '/', fs: 'sda1' }),
  // v session ends failed this minute (a healthy minute has one enforced end).
  'fp-session-enforcement-failed': level(
    (id, v, t) =>
      Array.from({ length: Math.max(1, v) }, (_, i) => ({
        measurement: sessionEnforcement.name,
        tags: { ...labels(id, 'pc'), action: 'lock' },
        fields: {
          state: v > 0 ? 'failed' : 'enforced',
          failed: int(v > 0 ? 1 : 0),
          by: 'station',
          maintenance: int(0),
          session_id: `s-${t}-${i}`,
          target: id,
          error: '',
        },
        time: t - i * 1000,
      })),
    1,
    0,
  ),
  // v failed payments this minute, besides one that succeeded (which the rule must not count).
  'fp-pos-payment-failures': level(
    (id, v, t) => [
      status(id, 'pos', t),
      ...Array.from({ length: v + 1 }, (_, i) => ({
        measurement: posPayment.name,
        tags: {
          ...labels(id, 'pos'),
          ...(i < v ? { result: 'failure', reason: 'card_declined' } : { result: 'success' }),
          currency: 'EUR',
          store: 'store-1',
          method: 'card',
        },
        fields: { amount: 12.5 },
        time: t - i * 1000,
      })),
    ],
    1,
    0,
  ),
  'fp-points-dropped': counter(selfMetric.pointsDropped, { reason: 'spool_full' }),
  'fp-spool-backlog': selfGauge(selfMetric.spoolPoints),
  'fp-spool-stuck': selfGauge(selfMetric.spoolOldestAge),
  'fp-data-disk-low': selfGauge(selfMetric.diskFree),
  // 5xx responses, while 2xx ones climb fast on the same host (they must not count).
  'fp-api-errors': counter(
    selfMetric.httpRequests,
    { route: '/api/v1/devices/:id', method: 'GET', status_class: '5xx' },
    { route: '/api/v1/devices/:id', method: 'GET', status_class: '2xx' },
  ),
  'fp-api-latency': apiDuration(),
  'fp-inventory-errors': counter(selfMetric.inventoryErrors, { code: 'SQLITE_BUSY' }),
  'fp-write-errors': counter(selfMetric.writeErrors, { kind: 'retry' }),
  'fp-rollups-failing': counter(selfMetric.rollupErrors, { measurement: 'terminal_status' }),
  // v device_status points in the look-back, from anybody.
  'fp-fleet-data-stale': level((id, v, t) =>
    Array.from({ length: v }, (_, i) => status(`${id}-${i}`, 'terminal', t - i * 1000)),
  ),
};
