/**
 * Every panel of every board has a test that asserts its exact values: the list below names, per
 * board and panel title, the test file that does. A panel added to a board without a line here
 * fails, and so does a line whose panel is gone or whose test file does not name the panel. The
 * device page's measurement panels are generated from the plugins' declarations, and so is their
 * test (test/grafana-device-values.test.ts runs each against the device's raw points).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { boards } from '../dashboards/index.ts';
import { pluginMeasurements } from '../dashboards/plugin-measurements.ts';

const PANEL_VALUES = 'grafana-panel-values';
const BOARD_VALUES = 'grafana-board-values';
const FLEET_VALUES = 'grafana-fleet-values';
const DEVICE_VALUES = 'grafana-device-values';
/** Rollup panels against the raw queries they replace; the "now" lists against the fleet. */
const DASHBOARDS = 'grafana-dashboards';

const panels = boards().flatMap((b) =>
  [...new Set(b.queries.map((q) => q.panel))].map((title) => `${b.spec.uid} / ${title}`),
);

/** The device page's own panels; the rest are one per declared measurement. */
const STATUS: Record<string, string> = {
  'Current status': DEVICE_VALUES,
  Online: DEVICE_VALUES,
  'Seconds since last report': DEVICE_VALUES,
};

const VALUE_TESTS: Record<string, Record<string, string>> = {
  'fp-fleet-overview': {
    Devices: PANEL_VALUES,
    Online: PANEL_VALUES,
    Offline: PANEL_VALUES,
    Error: PANEL_VALUES,
    'In maintenance': PANEL_VALUES,
    'By kind and model': PANEL_VALUES,
    'Fleet uptime': BOARD_VALUES,
    'Offline and erroring devices': BOARD_VALUES,
    'Per customer': FLEET_VALUES,
    'Per site': FLEET_VALUES,
    'Devices by state (all collectors)': FLEET_VALUES,
    'Uptime per hour': DASHBOARDS,
  },
  'fp-terminals': {
    'Oldest heartbeat': BOARD_VALUES,
    'Terminals offline (no report for 2 intervals)': BOARD_VALUES,
    'Top 10 by CPU (last 15m)': BOARD_VALUES,
    'Terminals in error now': BOARD_VALUES,
    'Top 10 by disk (last 15m)': FLEET_VALUES,
    'CPU / memory / disk (fleet mean)': DASHBOARDS,
    'Error reports per interval': DASHBOARDS,
    'Transactions and failures per interval': DASHBOARDS,
    'Firmware versions in the fleet': DASHBOARDS,
    'Rollout progress': DASHBOARDS,
    'Failed updates in rollouts (in the range)': DASHBOARDS,
  },
  'fp-ev-charging': {
    'Chargers offline': BOARD_VALUES,
    'Active sessions': BOARD_VALUES,
    'Faulted connectors': BOARD_VALUES,
    'Chargers offline or faulted': BOARD_VALUES,
    'Site power against its limit': PANEL_VALUES,
    'Charger power against its profile limit': PANEL_VALUES,
    'Connectors by status': FLEET_VALUES,
    'Power drawn (all chargers)': FLEET_VALUES,
    'Energy delivered per interval (completed sessions)': FLEET_VALUES,
    'Energy and revenue per site': FLEET_VALUES,
    'Faults by error code': FLEET_VALUES,
    'Faults per interval': FLEET_VALUES,
    'Security events': FLEET_VALUES,
    'Monitoring events': FLEET_VALUES,
  },
  'fp-gaming': {
    'Stations in session': BOARD_VALUES,
    'Session ends not enforced': BOARD_VALUES,
    'Session ends not enforced (server, station or plug)': BOARD_VALUES,
    'Session events per interval': FLEET_VALUES,
    'CPU / memory (fleet mean)': FLEET_VALUES,
    'Fullest disks': FLEET_VALUES,
    'Plug power per site': FLEET_VALUES,
    'Plugs on': FLEET_VALUES,
  },
  'fp-pos': {
    'Payment failures by reason': PANEL_VALUES,
    'Printers not ready': PANEL_VALUES,
    'Orders and sales per store': FLEET_VALUES,
    'Sales per interval': FLEET_VALUES,
    'Payment attempts and failures': FLEET_VALUES,
    'App versions': FLEET_VALUES,
    'Signal and battery (fleet mean)': FLEET_VALUES,
  },
  'fp-device-detail': {
    ...STATUS,
    ...Object.fromEntries(
      pluginMeasurements
        .flatMap((p) => p.measurements)
        .flatMap((m) => [m.name, `${m.name} (latest)`])
        // A measurement has a series panel, a latest table, or both (none if per site).
        .filter((title) => panels.includes(`fp-device-detail / ${title}`))
        .map((title) => [title, DEVICE_VALUES]),
    ),
  },
  'fp-collector': Object.fromEntries(
    [
      'Points in (per s, by plugin)',
      'Points written (per s)',
      'Spool',
      'Dropped points (per interval, by reason)',
      'Write errors (per interval, by kind)',
      'Write latency (average)',
      'Points refused at emit (per interval)',
      'Plugins up',
      'Connections and gauges, by plugin',
      'Plugin events (per interval)',
      'Command outcomes (per interval)',
      'Command latency (average)',
    ].map((t) => [t, FLEET_VALUES]),
  ),
  'fp-technical': Object.fromEntries(
    [
      'API requests (per s, by route and status class)',
      'API latency (mean, by route)',
      'API server errors by route (in the range)',
      'Oldest point in the spool',
      'Free disk in data_dir (lowest collector)',
      'Inventory database errors (per interval, by code)',
    ].map((t) => [t, BOARD_VALUES]),
  ),
  'fp-business': Object.fromEntries(
    [
      'Sessions and minutes sold by station',
      'Busiest stations (top 10 by minutes sold)',
      'Sessions and minutes sold per hour',
      'Peak hours (top 10 by stations in session)',
      'Stations in session per site',
      'Charging sessions, energy and revenue per site',
      'Charging energy and revenue per site and tariff',
      'Busiest chargers (top 10 by energy)',
      'Charging energy, revenue and sessions per hour',
    ].map((t) => [t, BOARD_VALUES]),
  ),
  'fp-monthly-reports': Object.fromEntries(
    ['Fleet uptime', 'Uptime per customer', 'Uptime per site', 'Uptime per day'].map((t) => [t, FLEET_VALUES]),
  ),
};

const listed = Object.entries(VALUE_TESTS).flatMap(([uid, titles]) => Object.keys(titles).map((t) => `${uid} / ${t}`));
const source = (name: string) => readFileSync(new URL(`./${name}.test.ts`, import.meta.url), 'utf8');

describe('every dashboard panel has a value test', () => {
  it('every panel of every board is listed with its value test', () => {
    expect(panels.filter((p) => !listed.includes(p))).toEqual([]);
  });

  it('every listed panel is still on its board', () => {
    expect(listed.filter((p) => !panels.includes(p))).toEqual([]);
  });

  it('each listed test file names the panel it is listed for (the device page: the declarations)', () => {
    const unnamed = Object.entries(VALUE_TESTS).flatMap(([uid, titles]) =>
      Object.entries(titles)
        .filter(([title, file]) => {
          const generated = uid === 'fp-device-detail' && !(title in STATUS);
          return !source(file).includes(generated ? 'pluginMeasurements' : `'${title}'`);
        })
        .map(([title, file]) => `${uid} / ${title} → ${file}`),
    );
    expect(unnamed).toEqual([]);
  });
});
