/**
 * A simulated fleet written into a real influxd: every device kind, every measurement the runtime
 * and the plugins declare, and known faults, so that dashboard queries have data and alert rules
 * have exactly known culprits. Written as line protocol straight to /write (the pipeline has its
 * own tests), then rolled up per hour by the runtime's real downsampler, as `serve` does.
 * `FAULTS` says which devices each alert rule must fire for.
 */
import pino from 'pino';
import type { MeasurementSpec } from '../../collector/sdk/index.ts';
import { InfluxQuery } from '../../collector/pipeline/influx-query.ts';
import { encodeLine } from '../../collector/pipeline/line-protocol.ts';
import {
  sessionEnforcement,
  stationSession,
  stationSessionsActive,
} from '../../collector/operations/sessions/session-measurements.ts';
import { rolloutFailure, rolloutProgress } from '../../collector/operations/measurements.ts';
import { Downsampler } from '../../collector/runtime/downsampler.ts';
import { fleetStatusGroups } from '../../collector/runtime/liveness.ts';
import {
  deviceAttention,
  deviceAvailability,
  deviceStatus,
  fleetFirmware,
  fleetStatus,
  runtimeMeasurements,
} from '../../collector/runtime/measurements.ts';
import { HOUR_MS, hourOf } from '../../collector/runtime/rollups.ts';
import { int, type Fields, type Point } from '../../collector/sdk/point.ts';
import { pluginMeasurements } from '../../dashboards/plugin-measurements.ts';
import { selfMetric } from '../../dashboards/self-metric-names.ts';
import { LivenessReplay } from './liveness-replay.ts';

export interface FixtureDevice {
  device: string;
  kind: string;
  model: string;
  customer: string;
  site: string;
  state: 'online' | 'offline' | 'error' | 'maintenance';
  /** Field overrides per measurement name, on top of the healthy defaults. */
  faults?: Record<string, Fields>;
  /** Tag overrides per measurement name. */
  tags?: Record<string, Record<string, string>>;
  /** Extra points per measurement (e.g. several failed payments). */
  repeat?: Record<string, number>;
  /** Firmware the inventory records. */
  firmware?: string;
  /** What the plugin says with its error reports (`seen(id, { state: 'error', reason })`). */
  reason?: string;
}

export const FLEET: FixtureDevice[] = [
  { device: 'term-ok-1', kind: 'terminal', model: 'TC-200', customer: 'acme', site: 'acme-s1', state: 'online' },
  { device: 'term-ok-2', kind: 'terminal', model: 'TC-200', customer: 'globex', site: 'globex-s1', state: 'online' },
  {
    device: 'term-err',
    kind: 'terminal',
    model: 'TC-200',
    customer: 'acme',
    site: 'acme-s1',
    state: 'error',
    reason: 'E42',
    faults: { terminal_status: { state: 'error', error_code: int(42) } },
  },
  { device: 'term-off', kind: 'terminal', model: 'TC-200', customer: 'acme', site: 'acme-s2', state: 'offline' },
  {
    device: 'term-fw-fail',
    kind: 'terminal',
    model: 'TC-200',
    customer: 'globex',
    site: 'globex-s1',
    state: 'online',
    firmware: '1.4.2',
    faults: { terminal_firmware: { state: 'update_failed', error: 'signature mismatch', progress_pct: 100 } },
  },
  {
    device: 'term-hot',
    kind: 'terminal',
    model: 'TC-200',
    customer: 'acme',
    site: 'acme-s2',
    state: 'online',
    faults: { terminal_status: { cpu_pct: 97, mem_pct: 95, disk_pct: 96 } },
  },
  { device: 'pc-ok', kind: 'pc', model: 'NUC-11', customer: 'acme', site: 'acme-s1', state: 'online' },
  {
    device: 'pc-hot',
    kind: 'pc',
    model: 'NUC-11',
    customer: 'acme',
    site: 'acme-s1',
    state: 'online',
    faults: { host_cpu: { usage_pct: 98 }, host_memory: { used_pct: 96 }, host_disk: { used_pct: 97 } },
  },
  {
    device: 'pc-maint',
    kind: 'pc',
    model: 'NUC-11',
    customer: 'acme',
    site: 'acme-s2',
    state: 'maintenance',
    faults: {
      host_cpu: { usage_pct: 99 },
      host_memory: { used_pct: 99 },
      host_disk: { used_pct: 99 },
      host_session: { event: 'enforce_failed', error: 'lock refused' },
    },
  },
  {
    device: 'pc-enforce',
    kind: 'pc',
    model: 'GAMER-X',
    customer: 'globex',
    site: 'globex-s1',
    state: 'online',
    faults: { host_session: { event: 'enforce_failed', error: 'lock refused' } },
  },
  {
    device: 'pc-err',
    kind: 'pc',
    model: 'NUC-11',
    customer: 'acme',
    site: 'acme-s2',
    state: 'error',
    reason: 'E_AGENT',
  },
  { device: 'pc-off', kind: 'pc', model: 'GAMER-X', customer: 'globex', site: 'globex-s1', state: 'offline' },
  { device: 'chg-ok', kind: 'charger', model: 'AC22', customer: 'acme', site: 'acme-s1', state: 'online' },
  {
    device: 'chg-fault',
    kind: 'charger',
    model: 'AC22',
    customer: 'acme',
    site: 'acme-s2',
    state: 'error',
    reason: 'GroundFailure',
    faults: {
      ocpp_connector_status: { status: 'Faulted', error_code: 'GroundFailure' },
      ocpp_error: { code: 'GroundFailure' },
      // Its ground-fault monitor (severity 1, Hardware Failure) fired.
      ocpp_event: { severity: int(1), alerting: true, trigger: 'Alerting', actual_value: 'true' },
    },
    tags: { ocpp_event: { component: 'EVSE', variable: 'Problem' } },
  },
  { device: 'chg-off', kind: 'charger', model: 'DC50', customer: 'globex', site: 'globex-s1', state: 'offline' },
  {
    device: 'chg-fw-fail',
    kind: 'charger',
    model: 'DC50',
    customer: 'globex',
    site: 'globex-s1',
    state: 'online',
    faults: { ocpp_firmware: { status: 'InstallationFailed' } },
  },
  {
    device: 'chg-tamper',
    kind: 'charger',
    model: 'AC22',
    customer: 'acme',
    site: 'acme-s1',
    state: 'online',
    faults: {
      ocpp_security_event: { type: 'TamperDetectionActivated', critical: true },
      // Tampered with, and drawing 2 kW past its 7 kW profile limit.
      ocpp_charging_limit: { limit_w: 7000, drawn_w: 9000 },
    },
    // Its sessions are priced by the fleet contract's tariff, the others' by `standard`.
    tags: { ocpp_session: { tariff: 'fleet' } },
  },
  { device: 'pos-ok', kind: 'pos', model: 'P400', customer: 'acme', site: 'acme-s1', state: 'online' },
  {
    device: 'pos-fail',
    kind: 'pos',
    model: 'P400',
    customer: 'globex',
    site: 'globex-s1',
    state: 'error',
    reason: 'paper_out',
    faults: { pos_health: { printer: 'paper_out', printer_ok: int(0) } },
    // Its orders were cancelled: the completed-only sales panels must leave them out.
    tags: { pos_payment: { result: 'failure', reason: 'card_declined' }, pos_order: { status: 'cancelled' } },
    repeat: { pos_payment: 6 },
  },
  { device: 'plug-1', kind: 'plug', model: 'Shelly Plug S', customer: 'acme', site: 'acme-s1', state: 'online' },
  // The example plugin's sensor: its sensor_reading has panels like every declared measurement.
  { device: 'sensor-1', kind: 'sensor', model: 'SIM-1', customer: 'acme', site: 'acme-s1', state: 'online' },
];

/** Alert rule uid → the devices (or collector hosts) it must fire for, and none other. */
export const FAULTS: Record<string, string[]> = {
  'fp-device-offline': ['pc-off', 'term-off'],
  'fp-charger-offline': ['chg-off'],
  // Dependencies: test/grafana-dependencies.test.ts (no gateways or site outages here).
  'fp-gateway-offline': [],
  'fp-site-outage': [],
  'fp-terminal-error': ['term-err'],
  'fp-pos-error': ['pos-fail'],
  'fp-pc-error': ['pc-err'],
  'fp-charger-faulted': ['chg-fault'],
  'fp-charger-severe-event': ['chg-fault'],
  'fp-site-over-power-limit': [],
  'fp-charger-ignoring-profile': ['chg-tamper'],
  'fp-terminal-firmware-failed': ['term-fw-fail'],
  'fp-charger-firmware-failed': ['chg-fw-fail'],
  'fp-charger-security-event': ['chg-tamper'],
  'fp-terminal-high-cpu': ['term-hot'],
  'fp-terminal-high-memory': ['term-hot'],
  'fp-terminal-disk-full': ['term-hot'],
  'fp-pc-high-cpu': ['pc-hot'],
  'fp-pc-high-memory': ['pc-hot'],
  'fp-pc-disk-full': ['pc-hot'],
  'fp-session-enforcement-failed': ['pc-enforce'],
  'fp-pos-payment-failures': ['pos-fail'],
  'fp-points-dropped': ['collector-bad'],
  'fp-spool-backlog': ['collector-bad'],
  'fp-spool-stuck': ['collector-bad'],
  'fp-data-disk-low': ['collector-bad'],
  'fp-api-errors': ['collector-bad'],
  'fp-api-latency': ['collector-bad'],
  'fp-inventory-errors': ['collector-bad'],
  'fp-write-errors': ['collector-bad'],
  'fp-rollups-failing': ['collector-bad'],
  'fp-fleet-data-stale': [],
};

/** Healthy values for fields whose meaning a dashboard or rule tests (by measurement, field). */
const HEALTHY: Record<string, Fields> = {
  terminal_status: { state: 'idle', error_code: int(0), cpu_pct: 20, mem_pct: 40, disk_pct: 50, paper: 'ok' },
  terminal_firmware: { state: 'updated', progress_pct: 100, from_version: '1.4.2', to_version: '1.5.0', error: '' },
  terminal_info: { firmware: '1.5.0', model: 'TC-200' },
  host_cpu: { usage_pct: 15 },
  host_memory: { used_pct: 45 },
  host_disk: { used_pct: 40 },
  host_session: { event: 'set', action: 'lock', error: '' },
  ocpp_connector_status: { status: 'Charging', error_code: 'NoError' },
  ocpp_firmware: { status: 'Installed' },
  ocpp_error: { code: 'OverCurrentFailure' },
  ocpp_security_event: { type: 'StartupOfTheDevice', critical: true },
  pos_health: { printer: 'ok', printer_ok: int(1), app_version: '3.2.1' },
  plug_state: { on: int(1) },
};
const HEALTHY_TAGS: Record<string, Record<string, string>> = {
  pos_order: { status: 'completed', currency: 'EUR', store: 'store-1', payment_method: 'card' },
  pos_payment: { result: 'success', currency: 'EUR', store: 'store-1', method: 'card' },
  ocpp_connector_status: { connector: '1' },
  ocpp_meter: { connector: '1' },
  ocpp_session: { connector: '1', tariff: 'standard' },
  host_disk: { mount: '/', fs: 'sda1' },
};
/** Measurements written only by devices that have something to report (not by every healthy one). */
const EVENT_ONLY = new Set(['ocpp_error', 'ocpp_event']);

function defaultValue(m: MeasurementSpec, field: string, i: number): Fields[string] {
  switch (m.fields[field].type) {
    case 'float':
      return 10 + (i % 5);
    case 'int':
      return int(i + 1); // counters grow
    case 'uint':
      return int(i + 1);
    case 'bool':
      return true;
    default:
      return 'ok';
  }
}

export interface FleetWriteOptions {
  url: string;
  db: string;
  /** The end of the simulated history (epoch ms). Default now. */
  now?: number;
  /** Minutes of history. Default 30. */
  minutes?: number;
}

/** Writes the fleet and its hourly rollups; returns the number of raw points. */
export async function writeFleet(opts: FleetWriteOptions): Promise<number> {
  const written = (await writeRawFleet(opts)) + (await writeLivenessSeries(opts));
  await rollUp(opts.url, opts.db, opts.now ?? Date.now(), (opts.minutes ?? 30) + 3 * 60);
  return written;
}

/**
 * Runs the real downsampler over every hour of the last `minutes` (the availability rollup goes
 * back 3 h) and writes its points; throws if any hour failed.
 */
export async function rollUp(url: string, db: string, now: number, minutes: number): Promise<void> {
  const lines: string[] = [];
  const ds = new Downsampler({
    query: new InfluxQuery({ url, database: db }),
    write: (p) => lines.push(encodeLine(p)),
    measurements: [...runtimeMeasurements, ...pluginMeasurements.flatMap((p) => p.measurements)],
    log: pino({ level: 'silent' }),
  });
  const hours = [];
  for (let h = hourOf(now - minutes * 60_000); h <= now; h += HOUR_MS) hours.push(h);
  const failed = (await ds.computeHours(hours)).filter((o) => o.error);
  if (failed.length > 0)
    throw new Error(
      `fleet fixture rollup: ${failed.map((o) => `${o.measurement} ${new Date(o.hour).toISOString()}: ${o.error}`).join('; ')}`,
    );
  if (lines.length === 0) return;
  const res = await fetch(`${url}/write?db=${encodeURIComponent(db)}&precision=ms`, {
    method: 'POST',
    body: lines.join('\n'),
  });
  if (res.status !== 204) throw new Error(`fleet fixture rollup write: ${res.status} ${await res.text()}`);
}

/** Terminals run 1.5.0 unless the fleet says otherwise; other kinds' firmware is unknown. */
export const firmwareOf = (d: FixtureDevice) => d.firmware ?? (d.kind === 'terminal' ? '1.5.0' : undefined);

/**
 * `device_attention` and `fleet_firmware` as the runtime writes them: the fleet's reports replayed
 * through the real Collector's liveness (one report a minute, offline devices silent from half-way,
 * the device in maintenance inside a window all along), at the minutes of the raw points.
 */
async function writeLivenessSeries(opts: FleetWriteOptions): Promise<number> {
  const now = opts.now ?? Date.now();
  const minutes = opts.minutes ?? 30;
  const byId = new Map(FLEET.map((d) => [d.device, d]));
  const start = now - (minutes - 1) * 60_000 - 1_000;
  const replay = new LivenessReplay({
    devices: FLEET.map((d) => ({
      id: d.device,
      kind: d.kind,
      model: d.model,
      customer: d.customer,
      site: d.site,
      firmware: firmwareOf(d),
    })),
    report: (id, t) => {
      const d = byId.get(id)!;
      if (d.state === 'offline') return t - start < (minutes / 2) * 60_000 ? { state: 'online' } : 'silent';
      return d.state === 'error' ? { state: 'error', reason: d.reason } : { state: 'online' };
    },
    maintenance: (id) => byId.get(id)!.state === 'maintenance',
  });
  const lines = replay.run(start, now - 1_000).take(deviceAttention.name, fleetFirmware.name);
  replay.close();
  const res = await fetch(`${opts.url}/write?db=${encodeURIComponent(opts.db)}&precision=ms`, {
    method: 'POST',
    body: lines.join('\n'),
  });
  if (res.status !== 204) throw new Error(`fleet fixture liveness write: ${res.status} ${await res.text()}`);
  return lines.length;
}

async function writeRawFleet(opts: FleetWriteOptions): Promise<number> {
  const now = opts.now ?? Date.now();
  const minutes = opts.minutes ?? 30;
  const points: Point[] = [];
  const stateAt = (d: FixtureDevice, i: number) => (d.state === 'offline' && i < minutes / 2 ? 'online' : d.state);
  const timeAt = (i: number) => now - (minutes - 1 - i) * 60_000 - 1_000;
  // The runtime's rollup of the same states, grouped by the runtime's own function.
  for (let i = 0; i < minutes; i++) {
    for (const g of fleetStatusGroups(FLEET.map((d) => ({ device: d, state: stateAt(d, i) })))) {
      points.push({ measurement: fleetStatus.name, tags: g.tags, fields: g.fields, time: timeAt(i) });
    }
  }
  for (const d of FLEET) {
    const base = { device: d.device, kind: d.kind, model: d.model, customer: d.customer, site: d.site };
    for (let i = 0; i < minutes; i++) {
      const time = timeAt(i);
      // Offline devices went silent half-way; everybody else is in its state all along.
      const late = i >= minutes / 2;
      const state = stateAt(d, i);
      const online = state === 'online' || state === 'error' ? 1 : 0;
      points.push({
        measurement: deviceStatus.name,
        tags: base,
        fields: {
          online: int(online),
          state,
          last_seen_s: int(online ? 30 : (i - minutes / 2) * 60 + 120),
          cause: 'self',
          dependents: int(0),
          dependents_offline: int(0),
        },
        time,
      });
      if (d.state === 'offline' && late) continue;
      for (const p of pluginMeasurements) {
        if (!p.kinds.includes(d.kind as never)) continue;
        for (const m of p.measurements) {
          const faulty = d.faults?.[m.name];
          if (EVENT_ONLY.has(m.name) && !faulty) continue;
          for (let r = 0; r < (d.repeat?.[m.name] ?? 1); r++) {
            const fields: Fields = {};
            for (const f of Object.keys(m.fields)) fields[f] = defaultValue(m, f, i);
            Object.assign(fields, HEALTHY[m.name], faulty);
            const tags = {
              ...base,
              // A declared tag the inventory also sets (a site measurement's site) keeps the device's value.
              ...Object.fromEntries(
                Object.keys(m.tags)
                  .filter((t) => !(t in base))
                  .map((t) => [t, `${t}-1`]),
              ),
              ...HEALTHY_TAGS[m.name],
              ...d.tags?.[m.name],
            };
            points.push({ measurement: m.name, tags, fields, time: time - r * 1000 });
          }
        }
      }
    }
    for (let h = 1; h <= 3; h++) {
      const hour = Math.floor(now / 3_600_000) * 3_600_000 - h * 3_600_000;
      const off = d.state === 'offline' ? 1800 : 0;
      const maint = d.state === 'maintenance' ? 3600 : 0;
      const err = d.state === 'error' ? 600 : 0;
      points.push({
        measurement: deviceAvailability.name,
        tags: base,
        fields: {
          online_s: int(Math.max(0, 3600 - off - maint - err)),
          error_s: int(err),
          offline_s: int(off),
          maintenance_s: int(maint),
        },
        time: hour,
      });
    }
  }
  points.push(
    ...collectorPoints(now, minutes),
    ...rolloutPoints(now),
    ...sessionPoints(now),
    ...stationSessionPoints(now),
  );
  const body = points.map(encodeLine).join('\n');
  const res = await fetch(`${opts.url}/write?db=${encodeURIComponent(opts.db)}&precision=ms`, { method: 'POST', body });
  if (res.status !== 204) throw new Error(`fleet fixture write: ${res.status} ${await res.text()}`);
  return points.length;
}

/**
 * The rollout scheduler's progress and failures (test/grafana-rollouts.test.ts runs the real
 * scheduler): a terminal rollout that finished with one failure (term-fw-fail), and a charger
 * rollout still running with one failure (chg-fw-fail) that the TC-200 board must not show.
 */
export const ROLLOUTS = [
  {
    tags: { rollout: 'ro-term', version: '1.5.0', model: 'TC-200', kind: 'terminal' },
    fields: { done: int(4), failed: int(1), pending: int(0), percent: 80, status: 'completed' },
  },
  {
    tags: { rollout: 'ro-chg', version: '2.0.0', model: 'DC50', kind: 'charger' },
    fields: { done: int(1), failed: int(0), pending: int(1), percent: 50, status: 'running' },
  },
];

function rolloutPoints(now: number): Point[] {
  const failure = (d: string, rollout: string, version: string, error: string): Point => {
    const f = FLEET.find((x) => x.device === d)!;
    return {
      measurement: rolloutFailure.name,
      tags: { device: d, kind: f.kind, model: f.model, customer: f.customer, site: f.site, rollout, version },
      fields: { error, wave: int(1) },
      time: now - 10 * 60_000,
    };
  };
  return [
    failure('term-fw-fail', 'ro-term', '1.5.0', 'update_firmware failed: signature mismatch'),
    failure('chg-fw-fail', 'ro-chg', '2.0.0', 'update_firmware failed: InstallationFailed'),
  ].concat(
    ROLLOUTS.flatMap((r) => [
      {
        measurement: rolloutProgress.name,
        tags: r.tags,
        fields: { ...r.fields, done: int(0), percent: 0, status: 'running' },
        time: now - 20 * 60_000,
      },
      { measurement: rolloutProgress.name, tags: r.tags, fields: r.fields, time: now - 5 * 60_000 },
    ]),
  );
}

/**
 * Session ends as the session scheduler writes them (collector/operations/sessions/session-scheduler.test.ts
 * and test/agent-sessions-e2e.test.ts run the real one): pc-ok's station was unreachable at the
 * end and enforced it itself (pending, then enforced: no alert); pc-enforce's lock failed; pc-maint
 * failed inside its maintenance window (no alert).
 */
function sessionPoints(now: number): Point[] {
  const point = (d: string, minutesAgo: number, state: string, by: string, error = ''): Point => {
    const f = FLEET.find((x) => x.device === d)!;
    return {
      measurement: sessionEnforcement.name,
      tags: { device: d, kind: f.kind, model: f.model, customer: f.customer, site: f.site, action: 'lock' },
      fields: {
        state,
        failed: int(state === 'failed' ? 1 : 0),
        by,
        maintenance: int(f.state === 'maintenance' ? 1 : 0),
        session_id: `s-${d}`,
        target: d,
        error,
      },
      time: now - minutesAgo * 60_000,
    };
  };
  return [
    point(
      'pc-ok',
      12,
      'pending',
      'station',
      "lock failed: device pc-ok is not connected; waiting for the station's own report",
    ),
    point('pc-ok', 11, 'enforced', 'station'),
    point('pc-enforce', 5, 'failed', 'station', 'the station could not end it: lock refused'),
    point('pc-maint', 5, 'failed', 'station', 'the station could not end it: lock refused'),
  ];
}

/** A console behind a smart plug: a station of the session scheduler, not in FLEET (no liveness of its own here). */
const CONSOLE = { device: 'ps5-1', kind: 'console', model: 'PS5', customer: 'acme', site: 'acme-s1' };

/**
 * Timed sessions as the session scheduler writes them (collector/operations/sessions): pc-ok sold
 * 30 + 15 min and is still running (warned), the console ps5-1 sold 60 and is running,
 * pc-enforce sold 20 and ran out, pc-maint sold 10 and was stopped early: 2 stations in session,
 * 135 minutes and 4 sessions sold. `station_sessions_active` per site each minute of the last 30,
 * as those sessions make it: acme-s1 up to 2, acme-s2 and globex-s1 up to 1, all three 0 at first.
 */
export const STATION_SESSIONS: Array<[device: string, minutesAgo: number, event: string, fields: Fields]> = [
  ['pc-ok', 25, 'started', { minutes_sold: 30 }],
  ['pc-ok', 10, 'extended', { minutes_sold: 15 }],
  ['pc-ok', 3, 'warned', {}],
  ['ps5-1', 20, 'started', { minutes_sold: 60 }],
  ['pc-enforce', 28, 'started', { minutes_sold: 20 }],
  ['pc-enforce', 8, 'ended', { duration_min: 20 }],
  ['pc-maint', 27, 'started', { minutes_sold: 10 }],
  ['pc-maint', 22, 'stopped', { duration_min: 5 }],
];

function stationSessionPoints(now: number): Point[] {
  const tagsOf = (d: string) => {
    const f = FLEET.find((x) => x.device === d) ?? CONSOLE;
    return { device: d, kind: f.kind, model: f.model, customer: f.customer, site: f.site };
  };
  const events = STATION_SESSIONS.map(([d, ago, event, fields]): Point => ({
    measurement: stationSession.name,
    tags: { ...tagsOf(d), action: d === 'ps5-1' ? 'power_off' : 'lock' },
    fields: { event, session_id: `s-${d}`, ...fields },
    time: now - ago * 60_000,
  }));
  const active = (site: string, ago: number) =>
    STATION_SESSIONS.filter(([d, t, e]) => tagsOf(d).site === site && e === 'started' && t >= ago).filter(
      ([d]) => !STATION_SESSIONS.some(([x, t, e]) => x === d && (e === 'ended' || e === 'stopped') && t >= ago),
    ).length;
  const counts: Point[] = [];
  for (let ago = 29; ago >= 0; ago--)
    for (const site of ['acme-s1', 'acme-s2', 'globex-s1'])
      counts.push({
        measurement: stationSessionsActive.name,
        tags: { site },
        fields: { active: int(active(site, ago)) },
        time: now - ago * 60_000 - 500,
      });
  return [...events, ...counts];
}

/** Two collectors: `collector-ok` healthy, `collector-bad` dropping points, failing writes and rollups, spool full. */
function collectorPoints(now: number, minutes: number): Point[] {
  const out: Point[] = [];
  for (let i = 0; i < minutes; i++) {
    const time = now - (minutes - 1 - i) * 60_000 - 2_000;
    for (const host of ['collector-ok', 'collector-bad']) {
      const bad = host === 'collector-bad';
      const v = (measurement: string, value: number, tags: Record<string, string> = {}) =>
        out.push({ measurement, tags: { host, ...tags }, fields: { value }, time });
      v(selfMetric.pointsEmitted, 1000 * i, { plugin: 'tc200' });
      v(selfMetric.pointsWritten, bad ? 500 * i : 1000 * i);
      v(selfMetric.pointsDropped, bad ? 50 * i : 0, { reason: 'spool_full' });
      v(selfMetric.pointsInvalid, 0, { plugin: 'tc200', measurement: 'terminal_status' });
      v(selfMetric.writeErrors, bad ? 3 * i : 0, { kind: 'retry' });
      v(selfMetric.rollupErrors, bad ? i : 0, { measurement: 'terminal_status' });
      v(selfMetric.spoolPoints, bad ? 50_000 + 100 * i : 10);
      v(selfMetric.spoolBytes, bad ? 5_000_000 : 1000);
      v(selfMetric.spoolOldestAge, bad ? 900 + 60 * i : 1);
      v(selfMetric.inventoryErrors, bad ? i : 0, { code: 'SQLITE_BUSY' });
      v(selfMetric.diskFree, bad ? 512 * 1024 ** 2 : 50 * 1024 ** 3);
      const route = { route: '/api/v1/devices/:id', method: 'GET' };
      v(selfMetric.httpRequests, 100 * i, { ...route, status_class: '2xx' });
      v(selfMetric.httpRequests, bad ? 5 * i : 0, { ...route, status_class: '5xx' });
      out.push({
        measurement: selfMetric.httpDuration,
        tags: { host, ...route, status_class: '2xx' },
        fields: { sum: (bad ? 3 : 0.05) * 100 * i, count: 100 * i },
        time,
      });
      v(selfMetric.pluginUp, 1, { plugin: 'tc200' });
      v(selfMetric.pluginGauge, bad ? 3 : 10, { plugin: 'ocpp', name: 'connections' });
      v(selfMetric.pluginEvents, i, { plugin: 'ocpp', event: 'malformed_frame' });
      v(selfMetric.devices, 10, { state: 'online' });
      v(selfMetric.commands, i, { plugin: 'tc200', command: 'reboot', outcome: 'succeeded' });
      out.push({ measurement: selfMetric.writeLatency, tags: { host }, fields: { sum: 0.02 * i, count: i }, time });
      out.push({
        measurement: selfMetric.commandLatency,
        tags: { host, command: 'reboot' },
        fields: { sum: 0.5 * i, count: i },
        time,
      });
    }
  }
  return out;
}
