import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import report from '../bin/commands/report.ts';
import { seedOwners, tempInventory } from '../collector/inventory/test-helpers.ts';
import { Incidents } from '../collector/operations/incidents.ts';
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
  const point = (device: string, customer: string, site: string, t: number, s: { online?: number; error?: number; offline?: number; maintenance?: number }) => {
    const online = s.online ?? 3600 - (s.error ?? 0) - (s.offline ?? 0) - (s.maintenance ?? 0);
    lines.push(
      `device_availability,customer=${customer},device=${device},kind=terminal,site=${site} online_s=${online}i,error_s=${s.error ?? 0}i,offline_s=${s.offline ?? 0}i,maintenance_s=${s.maintenance ?? 0}i ${t}`,
    );
  };
  for (let h = 0; h < HOURS_IN_OCT; h++) {
    const t = OCT + h * HOUR;
    point('a1', 'acme', 'acme-berlin', t, h >= 100 && h < 103 ? { offline: 3600 } : h >= 200 && h < 202 ? { error: 3600 } : {});
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
    const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: fleetLines().join('\n') });
    expect(res.status).toBe(204);
    seedOwners(inv.inventory);
    // Two incidents for MTTA/MTTR: acknowledged after 10 and 20 minutes, resolved after 60 and 120.
    let clock = 0;
    const incidents = new Incidents(inv.inventory.db, () => undefined, () => clock);
    for (const [i, ackMin, resolveMin] of [[1, 10, 60], [2, 20, 120]] as const) {
      const start = OCT + i * 86_400_000;
      clock = start;
      const { incident } = incidents.record({ status: 'firing', labels: { alertname: 'DeviceOffline', severity: 'critical', customer: 'acme' }, startsAt: new Date(start).toISOString(), fingerprint: `f${i}` });
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
    expect(acme).toMatchObject({ contract: 'premium', sla_target_pct: 99.9, sla_met: false, devices: 3, maintenance_s: 36_000 });
    const berlin = acme.sites.find((s) => s.site === 'acme-berlin')!;
    expect(Math.abs(berlin.uptime_pct! - ((2 * month - 36_000 - 18_000) / (2 * month - 36_000)) * 100)).toBeLessThan(0.01);
    const volt = r.customers.find((c) => c.customer === 'volt')!;
    expect(Math.abs(volt.uptime_pct! - ((month - 1800) / month) * 100)).toBeLessThan(0.01);
    expect(volt).toMatchObject({ contract: 'standard', sla_target_pct: 99.5, sla_met: true });
    expect(r.worst_devices.map((d) => d.device)).toEqual(['a1', 'h1', 'v1']);
    expect(r.incidents).toEqual([{ customer: 'acme', severity: 'critical', count: 2, acknowledged: 2, resolved: 2, mtta_s: 900, mttr_s: 5400 }]);
  });

  it('filters by customer and refuses a malformed month', async () => {
    const r = await uptimeReport({ influx: influx.client(db), db: inv.inventory.db, month: '2026-10', customer: 'volt' });
    expect(r.customers.map((c) => c.customer)).toEqual(['volt']);
    await expect(uptimeReport({ influx: influx.client(db), db: inv.inventory.db, month: '2026-13' })).rejects.toMatchObject({ field: 'month' });
    const empty = await uptimeReport({ influx: influx.client(db), db: inv.inventory.db, month: '2025-01' });
    expect(empty.customers).toEqual([]);
  });

  it('`fleetpulse report uptime` prints the same figures as text, CSV and HTML', async () => {
    const config = path.join(inv.dir, 'fleetpulse.yaml');
    writeFileSync(config, `data_dir: ${inv.dir}\ninventory:\n  path: ${inv.file}\ninflux:\n  url: ${influx.url}\n  database: ${db}\n`);
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await report(['uptime', '--config', config, ...args], { out: (t) => out.push(t), err: (t) => err.push(t) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const text = await run('--month', '2026-10', '--customer', 'acme');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/acme \(Acme Retail, premium\): 99\.73 % of SLA 99\.90 %  SLA MISSED, 3 devices/);
    const csv = await run('--month', '2026-10', '--format', 'csv');
    expect(csv.out.split('\n')[0]).toBe('customer,site,devices,uptime_pct,sla_target_pct,sla_met,online_s,error_s,offline_s,maintenance_s');
    expect(csv.out).toMatch(/^volt,,1,99\.9328,99\.5,true,/m);
    const html = await run('--month', '2026-10', '--format', 'html');
    expect(html.out).toContain('<h1>Uptime report 2026-10</h1>');
    expect(html.out).toContain('Acme Retail');
    expect((await run('--month', 'October')).code).toBe(1);
    expect((await run()).code).toBe(2);
    // No influx.url and no embedded influxd running on data_dir: says what to do.
    const bare = path.join(inv.dir, 'no-influx.yaml');
    writeFileSync(bare, `data_dir: ${inv.dir}\ninventory:\n  path: ${inv.file}\n`);
    const err: string[] = [];
    expect(await report(['uptime', '--config', bare, '--month', '2026-10'], { out: () => {}, err: (t) => err.push(t) })).toBe(2);
    expect(err.join('\n')).toMatch(/no InfluxDB URL: set influx\.url .* or pass --influx-url \(or run it while serve runs the embedded influxd\)/);
  });
});
