/**
 * Exact panel values on the fleet fixture (test/helpers/fleet-fixture.ts) in a real influxd: the
 * technical and business boards panel by panel, and the filtered or thresholded panels of the
 * gaming, EV charging, TC-200 and NOC boards. Each test names the counter-example its filter,
 * window or threshold must exclude. A second fleet is written ending at minute 40 of an hour, so
 * that the per-hour panels see all of its 30 minutes in one clock hour.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS, hourOf } from '../collector/runtime/rollups.ts';
import { FLEET, writeFleet } from './helpers/fleet-fixture.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { colourOf, only, panelRunner, rows, type Pick } from './helpers/panel-run.ts';

const influx = useInfluxd();
const now = Date.now();
const range = { from: now - 6 * HOUR_MS, to: now };
let live: string;
let inOneHour: string;

beforeAll(async () => {
  live = await influx.freshDatabase({ prefix: 'boards' });
  inOneHour = await influx.freshDatabase({ prefix: 'boards_hour' });
  await writeFleet({ url: influx.url, db: live, now });
  await writeFleet({ url: influx.url, db: inOneHour, now: hourOf(now) - 20 * 60_000 });
}, 120_000);

const panel = panelRunner(influx, () => live, range);
const hourPanel = panelRunner(influx, () => inOneHour, range);
const stat = async (uid: string, title: string, pick: Pick = {}) => only(await panel(uid, title, pick));
/** Rows keyed by `key`, each reduced to `columns`. */
const byKey = (rs: Record<string, unknown>[], key: string, ...columns: string[]) =>
  Object.fromEntries(rs.map((r) => [r[key], columns.length === 1 ? r[columns[0]] : columns.map((c) => r[c])]));
/** Sum of a column over every row (the buckets of a time series). */
const total = (rs: Record<string, unknown>[], column: string) =>
  rs.reduce((a, r) => a + ((r[column] as number | null) ?? 0), 0);

const T = 'fp-technical';
const ROUTE = '/api/v1/devices/:id';

describe('technical board: exact values from the collectors’ self-metrics', () => {
  it('API requests per s: each series’ rate summed per route and status class; a picked host narrows it', async () => {
    const got = rows(await panel(T, 'API requests (per s, by route and status class)'));
    const by = (cls: string) => got.filter((r) => r.route === ROUTE && r.status_class === cls).map((r) => r.req_per_s);
    expect(by('2xx').length).toBeGreaterThan(20);
    for (const v of by('2xx')) expect(v).toBeCloseTo(200 / 60, 6); // 100 a minute on each of two hosts
    for (const v of by('5xx')) expect(v).toBeCloseTo(5 / 60, 6); // collector-bad only
    const ok = rows(await panel(T, 'API requests (per s, by route and status class)', { host: 'collector-ok' }));
    expect(new Set(ok.filter((r) => r.status_class === '5xx').map((r) => r.req_per_s))).toEqual(new Set([0]));
  });

  it('API latency: increase of the duration sum over that of the count, across hosts', async () => {
    const all = rows(await panel(T, 'API latency (mean, by route)')).map((r) => r.mean_s as number);
    expect(all.length).toBeGreaterThan(20);
    for (const v of all) expect(v).toBeCloseTo((5 + 300) / 200, 6); // 0.05 s and 3 s, 100 requests a minute each
    for (const r of rows(await panel(T, 'API latency (mean, by route)', { host: 'collector-bad' })))
      expect(r.mean_s).toBeCloseTo(3, 6);
  });

  it('API server errors by route: every request against the 5xx ones only', async () => {
    const [requests] = rows(await panel(T, 'API server errors by route (in the range)', {}, 'A'));
    const [errors] = rows(await panel(T, 'API server errors by route (in the range)', {}, 'B'));
    // 29 minutes of increase: 100 a minute per host answered 2xx, 5 a minute on collector-bad 5xx.
    expect(requests).toEqual({ route: ROUTE, method: 'GET', requests: 2 * 2900 + 145 });
    expect(errors).toEqual({ route: ROUTE, method: 'GET', errors: 145 });
    const [okErrors] = rows(await panel(T, 'API server errors by route (in the range)', { host: 'collector-ok' }, 'B'));
    expect(okErrors.errors).toBe(0);
  });

  it('spool age, free disk (value and colour), inventory errors: per collector, the bad one singled out', async () => {
    const age = rows(await panel(T, 'Oldest point in the spool'));
    expect(Math.max(...age.filter((r) => r.host === 'collector-bad').map((r) => r.oldest_age_s as number))).toBe(
      900 + 60 * 29,
    );
    expect(new Set(age.filter((r) => r.host === 'collector-ok').map((r) => r.oldest_age_s))).toEqual(
      new Set([1, null]),
    );
    const title = 'Free disk in data_dir (lowest collector)';
    const lowest = (await stat(T, title)) as number;
    expect(lowest).toBe(512 * 1024 ** 2);
    expect(colourOf(T, title, lowest)).toBe('red');
    const healthy = (await stat(T, title, { host: 'collector-ok' })) as number;
    expect(healthy).toBe(50 * 1024 ** 3);
    expect(colourOf(T, title, healthy)).toBe('green');
    const errors = rows(await panel(T, 'Inventory database errors (per interval, by code)'));
    expect(
      total(
        errors.filter((r) => r.host === 'collector-bad'),
        'errors',
      ),
    ).toBe(29);
    expect(
      total(
        errors.filter((r) => r.host === 'collector-ok'),
        'errors',
      ),
    ).toBe(0);
  });
});

const B = 'fp-business';

describe('business board: sessions sold and charging revenue', () => {
  it('sessions and minutes sold by station: starts counted, extensions add minutes, a customer narrows it', async () => {
    const title = 'Sessions and minutes sold by station';
    expect(byKey(rows(await panel(B, title, {}, 'A')), 'device', 'sessions')).toEqual({
      'pc-ok': 1,
      'ps5-1': 1,
      'pc-enforce': 1,
      'pc-maint': 1,
    });
    expect(byKey(rows(await panel(B, title, {}, 'B')), 'device', 'minutes_sold')).toEqual({
      'pc-ok': 45,
      'ps5-1': 60,
      'pc-enforce': 20,
      'pc-maint': 10,
    });
    expect(byKey(rows(await panel(B, title, { customer: 'globex' }, 'B')), 'device', 'minutes_sold')).toEqual({
      'pc-enforce': 20,
    });
  });

  it('busiest stations: ranked by minutes sold', async () => {
    const got = rows(await panel(B, 'Busiest stations (top 10 by minutes sold)'));
    expect(got.map((r) => [r.device, r.minutes_sold]).sort((a, b) => (b[1] as number) - (a[1] as number))).toEqual([
      ['ps5-1', 60],
      ['pc-ok', 45],
      ['pc-enforce', 20],
      ['pc-maint', 10],
    ]);
  });

  it('per hour: 135 minutes and 4 sessions sold, in one hour bucket when they fall in one clock hour', async () => {
    const minutes = rows(await hourPanel(B, 'Sessions and minutes sold per hour', {}, 'A'));
    const sessions = rows(await hourPanel(B, 'Sessions and minutes sold per hour', {}, 'B'));
    expect(minutes.filter((r) => r.minutes_sold !== 0).map((r) => r.minutes_sold)).toEqual([135]);
    expect(sessions.filter((r) => r.sessions !== 0).map((r) => r.sessions)).toEqual([4]);
  });

  it('peak hours: each site’s peak summed per hour; the site variable narrows it', async () => {
    const title = 'Peak hours (top 10 by stations in session)';
    expect(rows(await hourPanel(B, title)).map((r) => r.stations)).toEqual([4]);
    expect(rows(await hourPanel(B, title, { site: 'acme-s1' })).map((r) => r.stations)).toEqual([2]);
  });

  it('stations in session per site: the peak each site reached', async () => {
    const got = rows(await panel(B, 'Stations in session per site'));
    const peak = (site: string) =>
      Math.max(...got.filter((r) => r.site === site).map((r) => (r.stations as number) ?? 0));
    expect([peak('acme-s1'), peak('acme-s2'), peak('globex-s1')]).toEqual([2, 1, 1]);
  });

  it('charging per site: energy, revenue and sessions of completed sessions; a customer narrows it', async () => {
    const title = 'Charging sessions, energy and revenue per site';
    // Each charger ends a session a minute, 10–14 Wh and 10–14 in cost; chg-off only in the first 15 minutes.
    expect(byKey(rows(await panel(B, title)), 'site', 'energy_wh', 'revenue', 'sessions')).toEqual({
      'acme-s1': [720, 720, 60],
      'acme-s2': [360, 360, 30],
      'globex-s1': [540, 540, 45],
    });
    expect(Object.keys(byKey(rows(await panel(B, title, { customer: 'globex' })), 'site'))).toEqual(['globex-s1']);
  });

  it('charging per site and tariff: chg-tamper’s fleet tariff apart from standard; a customer narrows it', async () => {
    const title = 'Charging energy and revenue per site and tariff';
    const got = async (pick: Pick = {}) =>
      rows(await panel(B, title, pick)).map((r) => [r.site, r.tariff, r.energy_wh, r.revenue]);
    expect(await got()).toEqual([
      ['acme-s1', 'fleet', 360, 360],
      ['acme-s1', 'standard', 360, 360],
      ['acme-s2', 'standard', 360, 360],
      ['globex-s1', 'standard', 540, 540],
    ]);
    expect(await got({ customer: 'globex' })).toEqual([['globex-s1', 'standard', 540, 540]]);
  });

  it('busiest chargers and energy per hour', async () => {
    const top = rows(await panel(B, 'Busiest chargers (top 10 by energy)'));
    expect(byKey(top, 'device', 'energy_wh')).toEqual({
      'chg-ok': 360,
      'chg-fault': 360,
      'chg-fw-fail': 360,
      'chg-tamper': 360,
      'chg-off': 180,
    });
    const hourly = rows(await hourPanel(B, 'Charging energy, revenue and sessions per hour'));
    const full = hourly.filter((r) => r.sessions !== 0);
    expect(full.map((r) => [r.energy_wh, r.revenue, r.sessions])).toEqual([[1620, 1620, 135]]);
  });
});

describe('gaming, EV charging, TC-200 and NOC panels with filters or thresholds', () => {
  it('gaming "Stations in session": running sessions of PCs and consoles, not ended or stopped ones', async () => {
    expect(await stat('fp-gaming', 'Stations in session')).toBe(2); // pc-ok (warned) and ps5-1 (a console)
    expect(await stat('fp-gaming', 'Stations in session', { customer: 'globex' })).toBeUndefined(); // pc-enforce ended
    expect(await stat('fp-gaming', 'Stations in session', { site: 'acme-s2' })).toBeUndefined(); // pc-maint stopped
  });

  it('gaming: session ends not enforced, the failed ones only (not pc-ok’s pending then enforced end)', async () => {
    expect(await stat('fp-gaming', 'Session ends not enforced')).toBe(2);
    const got = rows(await panel('fp-gaming', 'Session ends not enforced (server, station or plug)'));
    expect(got.map((r) => r.device).sort()).toEqual(['pc-enforce', 'pc-maint']);
  });

  it('EV charging: offline, active and faulted counts and the offline-or-faulted list', async () => {
    const E = 'fp-ev-charging';
    expect(await stat(E, 'Chargers offline')).toBe(1);
    expect(await stat(E, 'Active sessions')).toBe(4); // every connector Charging but chg-fault's
    expect(await stat(E, 'Faulted connectors')).toBe(1);
    const list = rows(await panel(E, 'Chargers offline or faulted'));
    expect(byKey(list, 'device', 'state')).toEqual({ 'chg-off': 'offline', 'chg-fault': 'error' });
  });

  it('TC-200: oldest heartbeat (value and colour), offline and erroring terminals, top CPU', async () => {
    const P = 'fp-terminals';
    const oldest = (await stat(P, 'Oldest heartbeat')) as number;
    expect(oldest).toBe((29 - 15) * 60 + 120); // term-off, silent since half-way
    expect(colourOf(P, 'Oldest heartbeat', oldest)).toBe('red');
    expect(rows(await panel(P, 'Terminals offline (no report for 2 intervals)')).map((r) => r.device)).toEqual([
      'term-off',
    ]);
    const errors = rows(await panel(P, 'Terminals in error now'));
    expect(errors.map((r) => [r.device, r.reason])).toEqual([['term-err', 'E42']]);
    const cpu = byKey(rows(await panel(P, 'Top 10 by CPU (last 15m)')), 'device', 'cpu_pct');
    expect(cpu['term-hot']).toBe(97);
    expect(Object.keys(cpu).sort()).toEqual(['term-err', 'term-fw-fail', 'term-hot', 'term-ok-1', 'term-ok-2']);
  });

  it('NOC fleet uptime: online over observed time from the hourly rollup, maintenance left out', async () => {
    // 13 devices online all hour, 4 in error 600 s, 3 offline half the hour, pc-maint in maintenance.
    expect(FLEET).toHaveLength(21);
    const online = 13 * 3600 + 4 * 3000 + 3 * 1800;
    expect(await stat('fp-fleet-overview', 'Fleet uptime')).toBeCloseTo(
      (100 * online) / (online + 4 * 600 + 3 * 1800),
      9,
    );
    const list = rows(await panel('fp-fleet-overview', 'Offline and erroring devices'));
    expect(byKey(list, 'device', 'state')).toEqual({
      'term-off': 'offline',
      'pc-off': 'offline',
      'chg-off': 'offline',
      'term-err': 'error',
      'pc-err': 'error',
      'chg-fault': 'error',
      'pos-fail': 'error',
    });
  });
});

describe('NOC uptime from the per-customer rollup', () => {
  // Per device and hour (3 hours): online 3600 s; in error 3000 + 600 s error; offline 1800 + 1800 s offline.
  const pct = (online: number, error: number, offline: number) => (100 * online) / (online + error + offline);
  const fleet = pct(13 * 3600 + 4 * 3000 + 3 * 1800, 4 * 600, 3 * 1800);
  // globex: 4 online, pos-fail in error, pc-off and chg-off offline; terminals: 4 online, 1 in error, 1 offline.
  const globex = pct(4 * 3600 + 3000 + 2 * 1800, 600, 2 * 1800);
  const terminals = pct(4 * 3600 + 3000 + 1800, 600, 1800);
  const hourly = async (pick: Pick = {}) =>
    rows(await panel('fp-fleet-overview', 'Uptime per hour', pick)).map((r) => r.uptime_pct as number);

  it('Fleet uptime: the customer and kind variables narrow it, site and model do not', async () => {
    const F = 'fp-fleet-overview';
    expect(await stat(F, 'Fleet uptime', { customer: 'globex' })).toBeCloseTo(globex, 9);
    expect(await stat(F, 'Fleet uptime', { kind: 'terminal' })).toBeCloseTo(terminals, 9);
    // acme-s2 alone would be 2 of 6 devices down: the per-customer rollup has no site, so the figure stays the fleet's.
    expect(await stat(F, 'Fleet uptime', { site: 'acme-s2' })).toBeCloseTo(fleet, 9);
    expect(await stat(F, 'Fleet uptime', { model: 'DC50' })).toBeCloseTo(fleet, 9);
  });

  it('Uptime per hour: one exact bucket per rolled-up hour, narrowed by customer', async () => {
    const all = await hourly();
    expect(all).toHaveLength(3);
    for (const v of all) expect(v).toBeCloseTo(fleet, 9);
    const picked = await hourly({ customer: 'globex' });
    expect(picked).toHaveLength(3);
    for (const v of picked) expect(v).toBeCloseTo(globex, 9);
  });
});
