/**
 * Exact panel values on the fleet fixture (test/helpers/fleet-fixture.ts) in a real influxd for
 * the panels test/grafana-board-values.test.ts leaves out: the NOC groups, the TC-200 disk list, the
 * EV charging, gaming and POS panels without a filter of their own, the collector board and the
 * monthly reports. Each test names the counter-example its filter or window must exclude: a device
 * silent for 15 minutes, another customer, site or host, cancelled orders, successful payments.
 * Per-minute series are checked minute by minute: minute i of the fixture's 30 is at index i.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS } from '../collector/runtime/rollups.ts';
import { writeFleet } from './helpers/fleet-fixture.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { colourOf, only, panelRunner, rows, type Pick } from './helpers/panel-run.ts';

const influx = useInfluxd();
const now = Date.now();
let db: string;

beforeAll(async () => {
  db = await influx.freshDatabase({ prefix: 'fleet_values' });
  await writeFleet({ url: influx.url, db, now });
}, 120_000);

const panel = panelRunner(influx, () => db, { from: now - 6 * HOUR_MS, to: now });
const table = async (uid: string, title: string, pick: Pick = {}, refId = 'A') =>
  rows(await panel(uid, title, pick, refId));
/** A time series' non-null values of `column`, in time order. */
const series = async (uid: string, title: string, column: string, pick: Pick = {}, refId = 'A') =>
  (await table(uid, title, pick, refId)).map((r) => r[column]).filter((v) => v !== null && v !== 0);
/** The fixture's default float at minute i, times the devices reporting then (`early` for the first 15). */
const perMinute = (early: number, late: number) =>
  Array.from({ length: 30 }, (_, i) => (i < 15 ? early : late) * (10 + (i % 5)));
/** Sums rows per `key` as Grafana's group-by transformation does. */
function grouped(rs: Record<string, unknown>[], key: string, columns: string[]) {
  const got: Record<string, number[]> = {};
  for (const r of rs) {
    const row = (got[String(r[key])] ??= columns.map(() => 0));
    columns.forEach((c, i) => (row[i] += r[c] as number));
  }
  return got;
}
const COUNTS = ['devices', 'online', 'offline', 'error', 'maintenance'];

describe('NOC and TC-200', () => {
  it('Per customer and Per site: the last fleet_status tick summed, not the half-hour of ticks', async () => {
    expect(grouped(await table('fp-fleet-overview', 'Per customer'), 'customer', COUNTS)).toEqual({
      acme: [14, 12, 1, 3, 1],
      globex: [7, 5, 2, 1, 0],
    });
    expect(grouped(await table('fp-fleet-overview', 'Per site'), 'site', COUNTS)).toEqual({
      'acme-s1': [9, 9, 0, 1, 0],
      'acme-s2': [5, 3, 1, 2, 1],
      'globex-s1': [7, 5, 2, 1, 0],
    });
    expect(
      Object.keys(grouped(await table('fp-fleet-overview', 'Per site', { site: 'acme-s2' }), 'site', COUNTS)),
    ).toEqual(['acme-s2']);
  });

  it('Offline and Error on the fleet: values and colours; a site with none is green', async () => {
    const noc = 'fp-fleet-overview';
    const offline = only(await panel(noc, 'Offline')) as number;
    const error = only(await panel(noc, 'Error')) as number;
    expect([offline, error]).toEqual([3, 4]); // term-off, pc-off, chg-off; term-err, pc-err, chg-fault, pos-fail
    expect([colourOf(noc, 'Offline', offline), colourOf(noc, 'Error', error)]).toEqual(['red', 'orange']);
    const calm = only(await panel(noc, 'Offline', { site: 'acme-s1' })) as number;
    expect([calm, colourOf(noc, 'Offline', calm)]).toEqual([0, 'green']);
  });

  it('Devices by state: each collector’s own count, per host', async () => {
    const got = await table('fp-fleet-overview', 'Devices by state (all collectors)');
    for (const host of ['collector-ok', 'collector-bad'])
      expect(
        new Set(got.filter((r) => r.host === host && r.devices !== null).map((r) => [r.state, r.devices].join())),
      ).toEqual(new Set(['online,10']));
  });

  it('TC-200 Top 10 by disk: the last 15 minutes only (term-off went silent before)', async () => {
    const got = await table('fp-terminals', 'Top 10 by disk (last 15m)');
    expect(Object.fromEntries(got.map((r) => [r.device, r.disk_pct]))).toEqual({
      'term-hot': 96,
      'term-err': 50,
      'term-fw-fail': 50,
      'term-ok-1': 50,
      'term-ok-2': 50,
    });
  });
});

const E = 'fp-ev-charging';

describe('EV charging', () => {
  it('Connectors by status: the last status of each connector; a customer narrows it', async () => {
    const status = async (pick: Pick = {}) =>
      Object.fromEntries((await table(E, 'Connectors by status', pick)).map((r) => [r.device, r.status]));
    expect(await status()).toEqual({
      'chg-ok': 'Charging',
      'chg-fault': 'Faulted',
      'chg-off': 'Charging',
      'chg-fw-fail': 'Charging',
      'chg-tamper': 'Charging',
    });
    expect(await status({ customer: 'globex' })).toEqual({ 'chg-off': 'Charging', 'chg-fw-fail': 'Charging' });
  });

  it('Power drawn and energy per interval: per minute, five chargers then four once chg-off went silent', async () => {
    expect(await series(E, 'Power drawn (all chargers)', 'power_w')).toEqual(perMinute(5, 4));
    expect(await series(E, 'Power drawn (all chargers)', 'power_w', { device: 'chg-off' })).toEqual(
      perMinute(1, 0).slice(0, 15),
    );
    const energy = 'Energy delivered per interval (completed sessions)';
    expect(await series(E, energy, 'energy_wh')).toEqual(perMinute(5, 4));
    expect(await series(E, energy, 'sessions')).toEqual(perMinute(5, 4).map((_, i) => (i < 15 ? 5 : 4)));
  });

  it('Energy and revenue per site: completed sessions per site; a site narrows it', async () => {
    const got = async (pick: Pick = {}) =>
      Object.fromEntries(
        (await table(E, 'Energy and revenue per site', pick)).map((r) => [
          r.site,
          [r.energy_wh, r.revenue, r.sessions],
        ]),
      );
    expect(await got()).toEqual({ 'acme-s1': [720, 720, 60], 'acme-s2': [360, 360, 30], 'globex-s1': [540, 540, 45] });
    expect(await got({ site: 'acme-s2' })).toEqual({ 'acme-s2': [360, 360, 30] });
  });

  it('Faults: chg-fault’s GroundFailure once a minute, none from a healthy charger', async () => {
    const codes = await table(E, 'Faults by error code');
    expect(codes.map((r) => [r.device, r.code])).toEqual(Array(30).fill(['chg-fault', 'GroundFailure']));
    expect(await table(E, 'Faults by error code', { device: 'chg-ok' })).toEqual([]);
    expect(await series(E, 'Faults per interval', 'faults')).toEqual(Array(30).fill(1));
  });

  it('Security events: each charger’s, chg-tamper’s tamper alarm among them; a customer narrows it', async () => {
    const got = async (pick: Pick = {}) => {
      const count: Record<string, number> = {};
      for (const r of await table(E, 'Security events', pick)) {
        const k = `${String(r.device)} ${String(r.type)} ${String(r.critical)}`;
        count[k] = (count[k] ?? 0) + 1;
      }
      return count;
    };
    expect(await got()).toEqual({
      'chg-ok StartupOfTheDevice true': 30,
      'chg-fault StartupOfTheDevice true': 30,
      'chg-off StartupOfTheDevice true': 15,
      'chg-fw-fail StartupOfTheDevice true': 30,
      'chg-tamper TamperDetectionActivated true': 30,
    });
    expect(await got({ customer: 'globex' })).toEqual({
      'chg-off StartupOfTheDevice true': 15,
      'chg-fw-fail StartupOfTheDevice true': 30,
    });
  });

  it('Monitoring events: chg-fault’s EVSE Problem monitor, once a minute; none from a healthy charger', async () => {
    const rows = await table(E, 'Monitoring events');
    expect(rows.map((r) => [r.device, r.component, r.variable, r.severity, r.trigger, r.alerting])).toEqual(
      Array(30).fill(['chg-fault', 'EVSE', 'Problem', 1, 'Alerting', true]),
    );
    expect(await table(E, 'Monitoring events', { customer: 'globex' })).toEqual([]);
    expect(await table(E, 'Monitoring events', { device: 'chg-ok' })).toEqual([]);
  });
});

const G = 'fp-gaming';

describe('gaming', () => {
  it('Session events: the set events only (not the two stations’ enforce_failed), no enforced ones', async () => {
    const title = 'Session events per interval';
    // pc-ok, pc-hot, pc-err and pc-off until it went silent.
    expect(await series(G, title, 'sets', {}, 'A')).toEqual(perMinute(4, 3).map((_, i) => (i < 15 ? 4 : 3)));
    expect(await series(G, title, 'enforced', {}, 'B')).toEqual([]);
  });

  it('CPU / memory fleet mean: over the reporting PCs, the hot and the maintenance one included', async () => {
    const cpu = await series(G, 'CPU / memory (fleet mean)', 'cpu_pct', {}, 'A');
    const mem = await series(G, 'CPU / memory (fleet mean)', 'mem_pct', {}, 'B');
    const mean = (early: number[], late: number[]) =>
      Array.from({ length: 30 }, (_, i) => (i < 15 ? early : late)).map((v) => v.reduce((a, b) => a + b) / v.length);
    // pc-ok, pc-hot, pc-maint, pc-enforce, pc-err, then pc-off for the first 15 minutes.
    expect(cpu).toEqual(mean([15, 98, 99, 15, 15, 15], [15, 98, 99, 15, 15]));
    expect(mem).toEqual(mean([45, 96, 99, 45, 45, 45], [45, 96, 99, 45, 45]));
    expect(await series(G, 'CPU / memory (fleet mean)', 'cpu_pct', { device: 'pc-hot' }, 'A')).toEqual(
      Array(30).fill(98),
    );
  });

  it('Fullest disks: the last 15 minutes, fullest first; pc-off (silent) left out', async () => {
    const got = await table(G, 'Fullest disks');
    expect(Object.fromEntries(got.map((r) => [r.device, r.used_pct]))).toEqual({
      'pc-maint': 99,
      'pc-hot': 97,
      'pc-enforce': 40,
      'pc-err': 40,
      'pc-ok': 40,
    });
  });

  it('Plug power per site and plugs on: plug-1 at acme-s1; another site or customer has none', async () => {
    const power = await table(G, 'Plug power per site');
    expect(power.filter((r) => r.power_w !== null).map((r) => [r.site, r.power_w])).toEqual(
      perMinute(1, 1).map((w) => ['acme-s1', w]),
    );
    expect(await table(G, 'Plug power per site', { site: 'globex-s1' })).toEqual([]);
    expect(only(await panel(G, 'Plugs on'))).toBe(1);
    expect(only(await panel(G, 'Plugs on', { customer: 'globex' }))).toBeUndefined();
  });
});

const P = 'fp-pos';

describe('POS', () => {
  it('Orders and sales: completed orders only (pos-fail’s cancelled ones left out)', async () => {
    const got = await table(P, 'Orders and sales per store');
    // 30 orders of 10–14 (six of each).
    expect(got.map((r) => [r.customer, r.store, r.currency, r.orders, r.sales])).toEqual([
      ['acme', 'store-1', 'EUR', 30, 360],
    ]);
    expect(await series(P, 'Sales per interval', 'sales')).toEqual(perMinute(1, 1));
  });

  it('Payment attempts and failures: every attempt against the failed ones only', async () => {
    const title = 'Payment attempts and failures';
    // A minute's six failures of pos-fail span 5 s and may straddle an interval: summed over the range.
    const sum = (vs: unknown[]) => vs.reduce((a: number, v) => a + (v as number), 0);
    expect(sum(await series(P, title, 'attempts', {}, 'A'))).toBe(30 * 7); // pos-ok 1 a minute, pos-fail 6
    expect(sum(await series(P, title, 'failures', {}, 'B'))).toBe(30 * 6);
    expect(await series(P, title, 'attempts', { device: 'pos-ok' }, 'A')).toEqual(Array(30).fill(1));
    expect(await series(P, title, 'failures', { device: 'pos-ok' }, 'B')).toEqual([]);
  });

  it('App versions, signal and battery: per device and the fleet mean; a customer narrows them', async () => {
    const versions = async (pick: Pick = {}) =>
      Object.fromEntries((await table(P, 'App versions', pick)).map((r) => [r.device, r.app_version]));
    expect(await versions()).toEqual({ 'pos-ok': '3.2.1', 'pos-fail': '3.2.1' });
    expect(await versions({ customer: 'acme' })).toEqual({ 'pos-ok': '3.2.1' });
    const health = await table(P, 'Signal and battery (fleet mean)');
    expect(health.filter((r) => r.signal_dbm !== null).map((r) => [r.signal_dbm, r.battery_pct])).toEqual(
      perMinute(1, 1).map((v) => [v, v]),
    );
  });
});

const C = 'fp-collector';

describe('collector board', () => {
  /** A per-host series' non-null values, by host. */
  const byHost = async (title: string, column: string, pick: Pick = {}) => {
    const out: Record<string, unknown[]> = {};
    for (const r of await table(C, title, pick)) if (r[column] !== null) (out[String(r.host)] ??= []).push(r[column]);
    return out;
  };
  // 29 differences between the 30 minutes.
  const each = (v: number, n = 29) => Array(n).fill(v) as number[];

  it('throughput: points in and written per s; collector-bad writes half of what comes in', async () => {
    for (const v of await series(C, 'Points in (per s, by plugin)', 'points_per_s'))
      expect(v).toBeCloseTo(1000 / 60, 9);
    expect((await series(C, 'Points in (per s, by plugin)', 'points_per_s')).length).toBe(29);
    const written = await byHost('Points written (per s)', 'points_per_s');
    expect(written['collector-bad'].map((v) => Math.round((v as number) * 60))).toEqual(each(500));
    expect(written['collector-ok'].map((v) => Math.round((v as number) * 60))).toEqual(each(1000));
  });

  it('spool, drops and write errors: collector-bad’s per host; a picked host leaves the other out', async () => {
    const spool = await byHost('Spool', 'points');
    expect(Math.max(...(spool['collector-bad'] as number[]))).toBe(50_000 + 100 * 29);
    expect(new Set(spool['collector-ok'])).toEqual(new Set([10]));
    expect((await byHost('Dropped points (per interval, by reason)', 'dropped'))['collector-bad']).toEqual(each(50));
    expect((await byHost('Dropped points (per interval, by reason)', 'dropped'))['collector-ok']).toEqual(each(0));
    expect((await byHost('Write errors (per interval, by kind)', 'errors'))['collector-bad']).toEqual(each(3));
    expect(
      Object.keys(await byHost('Write errors (per interval, by kind)', 'errors', { host: 'collector-ok' })),
    ).toEqual(['collector-ok']);
    for (const vs of Object.values(await byHost('Write latency (average)', 'avg_s')))
      for (const v of vs) expect(v).toBeCloseTo(0.02, 9);
    expect(await series(C, 'Points refused at emit (per interval)', 'invalid')).toEqual([]);
  });

  it('plugins, gauges, events and commands: exact per interval; the gauge of the picked host', async () => {
    const up = await table(C, 'Plugins up');
    expect(up.map((r) => [r.host, r.plugin, r.up])).toEqual([
      ['collector-bad', 'tc200', 1],
      ['collector-ok', 'tc200', 1],
    ]);
    const gauge = async (host: string) =>
      new Set(await series(C, 'Connections and gauges, by plugin', 'value', { host }));
    expect(await gauge('collector-bad')).toEqual(new Set([3]));
    expect(await gauge('collector-ok')).toEqual(new Set([10]));
    expect(await series(C, 'Plugin events (per interval)', 'events')).toEqual(each(1));
    expect(await series(C, 'Command outcomes (per interval)', 'commands')).toEqual(each(1));
    const latency = await series(C, 'Command latency (average)', 'avg_s');
    expect(latency).toHaveLength(29);
    for (const v of latency) expect(v).toBeCloseTo(0.5, 9);
  });
});

const R = 'fp-monthly-reports';

describe('monthly reports', () => {
  // Per device and hour: healthy 3600 s online; in error 3000 online + 600 error; offline 1800 +
  // 1800; pc-maint in maintenance all hour (left out). acme: 9 healthy, 3 in error, term-off;
  // globex: 4 healthy, pos-fail in error, pc-off and chg-off.
  const acme = (100 * (9 * 3600 + 3 * 3000 + 1800)) / (9 * 3600 + 3 * 3600 + 3600);
  const globex = (100 * (4 * 3600 + 3000 + 2 * 1800)) / (4 * 3600 + 3600 + 2 * 3600);

  it('Fleet uptime and per customer: online over observed time, maintenance left out', async () => {
    const online = 13 * 3600 + 4 * 3000 + 3 * 1800;
    const fleet = only(await panel(R, 'Fleet uptime')) as number;
    expect(fleet).toBeCloseTo((100 * online) / (online + 4 * 600 + 3 * 1800), 9);
    // Coloured at the contract levels: 89 % is red; each step at its edge.
    const colours = (title: string) => [fleet, 98.99, 99, 99.49, 99.5, 99.89, 99.9].map((v) => colourOf(R, title, v));
    const SLA = ['red', 'red', 'orange', 'orange', 'yellow', 'yellow', 'green'];
    expect(colours('Fleet uptime')).toEqual(SLA);
    expect(colours('Uptime per customer')).toEqual(SLA);
    expect(colours('Uptime per site')).toEqual(SLA);
    const per = Object.fromEntries((await table(R, 'Uptime per customer')).map((r) => [r.customer, r.uptime_pct]));
    expect(per.acme).toBeCloseTo(acme, 9);
    expect(per.globex).toBeCloseTo(globex, 9);
    // Outage hours: hours with offline time (not every hour of every device).
    const outages = await table(R, 'Uptime per customer', {}, 'B');
    expect(outages.map((r) => [r.customer, r.outage_hours, r.offline_s])).toEqual([
      ['acme', 3, 3 * 1800],
      ['globex', 6, 6 * 1800],
    ]);
  });

  it('Uptime per site and per day; a picked site leaves the others out', async () => {
    const per = Object.fromEntries((await table(R, 'Uptime per site')).map((r) => [r.site, r.uptime_pct]));
    expect(Object.keys(per)).toEqual(['acme-s1', 'acme-s2', 'globex-s1']);
    expect(per['acme-s1']).toBeCloseTo((100 * (8 * 3600 + 3000)) / (9 * 3600), 9);
    expect(per['acme-s2']).toBeCloseTo((100 * (3600 + 2 * 3000 + 1800)) / (4 * 3600), 9);
    expect(per['globex-s1']).toBeCloseTo(globex, 9);
    const outages = await table(R, 'Uptime per site', { site: 'acme-s2' }, 'B');
    expect(outages.map((r) => [r.site, r.outage_hours, r.offline_s])).toEqual([['acme-s2', 3, 3 * 1800]]);
    // Every hour is alike, so each day (the three hours may straddle midnight) has the customer's figure.
    for (const r of await table(R, 'Uptime per day'))
      expect(r.uptime_pct).toBeCloseTo(r.customer === 'acme' ? acme : globex, 9);
    expect((await table(R, 'Uptime per day')).length).toBeGreaterThanOrEqual(2);
  });
});
