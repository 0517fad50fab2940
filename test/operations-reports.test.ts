import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../api/app.ts';
import { parseCsv } from '../api/csv.ts';
import report from '../bin/commands/report.ts';
import { CommandBus } from '../collector/commands/command-bus.ts';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { Incidents } from '../collector/operations/incidents.ts';
import { Operations } from '../collector/operations/operations.ts';
import { uptimeReport } from '../collector/operations/uptime-report.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
const HOUR = 3_600_000;
const OCT = Date.parse('2026-10-01T00:00:00Z');
const HOURS_IN_OCT = 31 * 24;

/**
 * A fleet with known outages in October 2026, written as the liveness tracker writes them
 * (`device_availability`, one point per device and hour):
 *   a1 (acme, Berlin):  5 h down (3 h offline, 2 h in error)
 *   a2 (acme, Berlin):  10 h in maintenance, never down
 *   h1 (acme, Hamburg): 1 h offline
 *   v1 (volt, Lyon):    30 min offline
 * plus points just outside the month that must not count.
 */
function fleetLines(): string[] {
  const lines: string[] = [];
  const point = (
    device: string,
    customer: string,
    site: string,
    t: number,
    s: { online?: number; error?: number; offline?: number; maintenance?: number },
  ) => {
    const online = s.online ?? 3600 - (s.error ?? 0) - (s.offline ?? 0) - (s.maintenance ?? 0);
    lines.push(
      `device_availability,customer=${customer},device=${device},kind=terminal,site=${site} online_s=${online}i,error_s=${s.error ?? 0}i,offline_s=${s.offline ?? 0}i,maintenance_s=${s.maintenance ?? 0}i ${t}`,
    );
  };
  for (let h = 0; h < HOURS_IN_OCT; h++) {
    const t = OCT + h * HOUR;
    point(
      'a1',
      'acme',
      'acme-berlin',
      t,
      h >= 100 && h < 103 ? { offline: 3600 } : h >= 200 && h < 202 ? { error: 3600 } : {},
    );
    point('a2', 'acme', 'acme-berlin', t, h >= 300 && h < 310 ? { maintenance: 3600 } : {});
    point('h1', 'acme', 'acme-hamburg', t, h === 50 ? { offline: 3600 } : {});
    point('v1', 'volt', 'volt-lyon', t, h === 7 ? { offline: 1800 } : {});
  }
  point('a1', 'acme', 'acme-berlin', OCT - HOUR, { offline: 3600 }); // 30 September
  point('a1', 'acme', 'acme-berlin', OCT + HOURS_IN_OCT * HOUR, { offline: 3600 }); // 1 November
  return lines;
}

describe('uptime report', () => {
  let db: string;
  const inv = tempInventory();
  beforeAll(async () => {
    db = await influx.freshDatabase();
    const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, {
      method: 'POST',
      body: fleetLines().join('\n'),
    });
    expect(res.status).toBe(204);
    seedOwners(inv.inventory);
    // Two incidents for MTTA/MTTR: acknowledged after 10 and 20 minutes, resolved after 60 and 120.
    let clock = 0;
    const incidents = new Incidents(
      inv.inventory.db,
      () => undefined,
      () => clock,
    );
    for (const [i, ackMin, resolveMin] of [
      [1, 10, 60],
      [2, 20, 120],
    ] as const) {
      const start = OCT + i * 86_400_000;
      clock = start;
      const { incident } = incidents.record({
        status: 'firing',
        labels: { alertname: 'DeviceOffline', severity: 'critical', customer: 'acme' },
        startsAt: new Date(start).toISOString(),
        fingerprint: `f${i}`,
      });
      clock = start + ackMin * 60_000;
      incidents.acknowledge(incident.id, 'dana');
      clock = start + resolveMin * 60_000;
      incidents.resolve(incident.id, 'dana');
    }
  });
  afterAll(() => inv.cleanup());

  it('equals the expected uptime to 0.01 %, excluding maintenance and counting error as down', async () => {
    const r = await uptimeReport({ influx: influx.client(db), db: inv.inventory.db, month: '2026-10' });
    const month = HOURS_IN_OCT * 3600;
    const acme = r.customers.find((c) => c.customer === 'acme')!;
    // acme: 3 devices × 744 h, minus 10 h maintenance observed; 6 h down.
    const expectedAcme = ((3 * month - 36_000 - 21_600) / (3 * month - 36_000)) * 100;
    expect(Math.abs(acme.uptime_pct! - expectedAcme)).toBeLessThan(0.01);
    expect(acme.uptime_pct).toBeCloseTo(99.73, 2);
    expect(acme).toMatchObject({
      contract: 'premium',
      sla_target_pct: 99.9,
      sla_met: false,
      devices: 3,
      maintenance_s: 36_000,
    });
    const berlin = acme.sites.find((s) => s.site === 'acme-berlin')!;
    expect(Math.abs(berlin.uptime_pct! - ((2 * month - 36_000 - 18_000) / (2 * month - 36_000)) * 100)).toBeLessThan(
      0.01,
    );
    const volt = r.customers.find((c) => c.customer === 'volt')!;
    expect(Math.abs(volt.uptime_pct! - ((month - 1800) / month) * 100)).toBeLessThan(0.01);
    expect(volt).toMatchObject({ contract: 'standard', sla_target_pct: 99.5, sla_met: true });
    expect(r.worst_devices.map((d) => d.device)).toEqual(['a1', 'h1', 'v1']);
    expect(r.incidents).toEqual([
      { customer: 'acme', severity: 'critical', count: 2, acknowledged: 2, resolved: 2, mtta_s: 900, mttr_s: 5400 },
    ]);
  });

  it('filters by customer and refuses a malformed month', async () => {
    const r = await uptimeReport({
      influx: influx.client(db),
      db: inv.inventory.db,
      month: '2026-10',
      customer: 'volt',
    });
    expect(r.customers.map((c) => c.customer)).toEqual(['volt']);
    await expect(
      uptimeReport({ influx: influx.client(db), db: inv.inventory.db, month: '2026-13' }),
    ).rejects.toMatchObject({ field: 'month' });
    const empty = await uptimeReport({ influx: influx.client(db), db: inv.inventory.db, month: '2025-01' });
    expect(empty.customers).toEqual([]);
  });

  it('`fleetpulse report uptime` prints the same figures as text, CSV and HTML', async () => {
    const config = path.join(inv.dir, 'fleetpulse.yaml');
    writeFileSync(
      config,
      `data_dir: ${inv.dir}\ninventory:\n  path: ${inv.file}\ninflux:\n  url: ${influx.url}\n  database: ${db}\n`,
    );
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await report(['uptime', '--config', config, ...args], {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
      });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const text = await run('--month', '2026-10', '--customer', 'acme');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/acme \(Acme Retail, premium\): 99\.73 % of SLA 99\.90 % {2}SLA MISSED, 3 devices/);
    const csv = await run('--month', '2026-10', '--format', 'csv');
    expect(csv.out.split('\n')[0]).toBe(
      'customer,site,devices,uptime_pct,sla_target_pct,sla_met,online_s,error_s,offline_s,maintenance_s',
    );
    expect(csv.out).toMatch(/^volt,,1,99\.9328,99\.5,true,/m);
    const json = await run('--month', '2026-10', '--customer', 'acme', '--format', 'json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual(
      await uptimeReport({ influx: influx.client(db), db: inv.inventory.db, month: '2026-10', customer: 'acme' }),
    );
    expect(JSON.parse(json.out)).toMatchObject({
      month: '2026-10',
      customers: [expect.objectContaining({ customer: 'acme', uptime_pct: 99.73 })],
      worst_devices: [{ device: 'a1' }, { device: 'h1' }],
    });
    const zone = await run('--month', '2026-10', '--timezone', 'Mars/Olympus_Mons');
    expect(zone.code).toBe(1);
    expect(zone.err).toBe("fleetpulse report: 'Mars/Olympus_Mons' is not an IANA time zone");
    const html = await run('--month', '2026-10', '--format', 'html');
    expect(html.out).toContain('<h1>Uptime report 2026-10</h1>');
    expect(html.out).toContain('Acme Retail');
    expect((await run('--month', 'October')).code).toBe(1);
    expect((await run()).code).toBe(2);
    // No influx.url and no embedded influxd running on data_dir: says what to do.
    const bare = path.join(inv.dir, 'no-influx.yaml');
    writeFileSync(bare, `data_dir: ${inv.dir}\ninventory:\n  path: ${inv.file}\n`);
    const err: string[] = [];
    expect(
      await report(['uptime', '--config', bare, '--month', '2026-10'], { out: () => {}, err: (t) => err.push(t) }),
    ).toBe(2);
    expect(err.join('\n')).toMatch(
      /no InfluxDB URL: set influx\.url .* or pass --influx-url \(or run it while serve runs the embedded influxd\)/,
    );
  });

  describe('GET /api/v1/reports/uptime', () => {
    let app: ReturnType<typeof build>;
    let key: string;
    const operations = (query?: ReturnType<typeof influx.client>) =>
      new Operations({
        inventory: inv.inventory,
        bus: new CommandBus(),
        plugins: [],
        emit: () => {},
        log: pino({ level: 'silent' }),
        ...(query ? { influx: query } : {}),
      });
    const get = (url: string, target = app) =>
      target.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${key}` } });
    beforeAll(async () => {
      key = inv.inventory.apiKeys.create({ name: 'report-reader', role: 'viewer' }).key;
      app = build({ inventory: inv.inventory, kinds: [], operations: operations(influx.client(db)) });
      await app.ready();
    });
    afterAll(async () => {
      await app?.close();
    });

    it('answers JSON equal to the report, for viewers', async () => {
      const res = await get('/reports/uptime?month=2026-10');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(
        await uptimeReport({ influx: influx.client(db), db: inv.inventory.db, month: '2026-10' }),
      );
      expect(
        res.json().customers.map((c: { customer: string; uptime_pct: number }) => [c.customer, c.uptime_pct]),
      ).toEqual([
        ['acme', 99.73],
        ['volt', 99.9328],
      ]);
      expect((await app.inject({ method: 'GET', url: '/api/v1/reports/uptime?month=2026-10' })).statusCode).toBe(401);
    });

    it('answers CSV with the uptime, the worst devices and the incidents, each table with its header', async () => {
      const res = await get('/reports/uptime?month=2026-10&customer=acme&format=csv');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe('attachment; filename="uptime-2026-10-acme.csv"');
      const tables = res.body
        .trimEnd()
        .split('\n\n')
        .map((t) => parseCsv(t));
      expect(tables.map((t) => t.problems)).toEqual([[], [], []]);
      const [uptime, worst, incidents] = tables as [
        ReturnType<typeof parseCsv>,
        ReturnType<typeof parseCsv>,
        ReturnType<typeof parseCsv>,
      ];
      expect(uptime.records.map((r) => r.fields.slice(0, 6))).toEqual([
        ['acme', '', '3', '99.73', '99.9', 'false'],
        ['acme', 'acme-berlin', '2', expect.stringMatching(/^99\.6/), '99.9', ''],
        ['acme', 'acme-hamburg', '1', expect.stringMatching(/^99\.86/), '99.9', ''],
      ]);
      expect(worst.header).toEqual([
        'device',
        'customer',
        'site',
        'uptime_pct',
        'down_s',
        'online_s',
        'error_s',
        'offline_s',
        'maintenance_s',
      ]);
      expect(worst.records.map((r) => r.fields.slice(0, 3).concat(r.fields[4]))).toEqual([
        ['a1', 'acme', 'acme-berlin', '18000'],
        ['h1', 'acme', 'acme-hamburg', '3600'],
      ]);
      expect(incidents.header).toEqual([
        'customer',
        'severity',
        'count',
        'acknowledged',
        'resolved',
        'mtta_s',
        'mttr_s',
      ]);
      expect(incidents.records.map((r) => r.fields)).toEqual([['acme', 'critical', '2', '2', '2', '900', '5400']]);
      // A month without data keeps every header; an odd customer id stays out of the header's quoting.
      const empty = await get(`/reports/uptime?month=2025-01&customer=${encodeURIComponent('a"b')}&format=csv`);
      expect(empty.headers['content-disposition']).toBe('attachment; filename="uptime-2025-01-a_b.csv"');
      expect(empty.body.split('\n\n').map((t) => t.split('\n')[0].split(',')[0])).toEqual([
        'customer',
        'device',
        'customer',
      ]);
    });

    it('answers a printable HTML page with the same figures', async () => {
      const res = await get('/reports/uptime?month=2026-10&format=html');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('<h1>Uptime report 2026-10</h1>');
      expect(res.body).toContain('Acme Retail <small>acme · premium</small>');
      expect(res.body).toContain('Uptime <strong>99.73 %</strong> · SLA 99.90 % · missed · 3 devices');
      expect(res.body).toContain('<tr><td>a1</td><td>acme</td><td>acme-berlin</td>');
      expect(res.body).toContain('<tr><td>acme</td><td>critical</td><td>2</td><td>15 min</td><td>1.5 h</td></tr>');
      expect(res.body).not.toMatch(/<script|<link|src=/);
    });

    it('cuts the month in a time zone, and refuses an unknown zone or month naming the field', async () => {
      const berlin = await get('/reports/uptime?month=2026-10&timezone=Europe/Berlin');
      expect(berlin.json()).toMatchObject({
        timezone: 'Europe/Berlin',
        from: '2026-09-30T22:00:00.000Z',
        to: '2026-10-31T23:00:00.000Z',
      });
      const zone = await get('/reports/uptime?month=2026-10&timezone=Mars/Olympus_Mons');
      expect(zone.statusCode).toBe(400);
      expect(zone.json().error).toEqual({
        code: 'FP_VALIDATION',
        field: 'timezone',
        message: "'Mars/Olympus_Mons' is not an IANA time zone",
      });
      const month = await get('/reports/uptime?month=2026-13');
      expect(month.statusCode).toBe(400);
      expect(month.json().error).toMatchObject({ code: 'FP_VALIDATION' });
      expect((await get('/reports/uptime?month=2026-10&format=pdf')).statusCode).toBe(400);
    });

    it('answers 502 when the server has no InfluxDB, or InfluxDB refuses the query', async () => {
      for (const [ops, message] of [
        [operations(), 'reports need InfluxDB, and this server has no query connection to it'],
        [operations(influx.client('no_such_database')), expect.stringMatching(/^InfluxDB: .*database not found/)],
      ] as const) {
        const other = build({ inventory: inv.inventory, kinds: [], operations: ops });
        try {
          // A month not stored yet: 2026-10 is, and answers from its stored sums without InfluxDB.
          const res = await get('/reports/uptime?month=2026-08', other);
          expect(res.statusCode).toBe(502);
          expect(res.json().error).toMatchObject({ code: 'FP_UPSTREAM', message });
        } finally {
          await other.close();
        }
      }
    });
  });
});
