import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../api/app.ts';
import { CommandBus } from '../collector/commands/command-bus.ts';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { Operations } from '../collector/operations/operations.ts';
import { StoredUptime } from '../collector/operations/stored-uptime.ts';
import { uptimeReport } from '../collector/operations/uptime-report.ts';
import type { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { until } from '../collector/operations/testing.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
const HOUR = 3_600_000;
const OCT = Date.parse('2026-10-01T00:00:00Z');
const NOV = Date.parse('2026-11-01T00:00:00Z');
const log = pino({ level: 'silent' });

/** The real client, counting the queries it sends to influxd. */
function counted(client: InfluxQuery): Pick<InfluxQuery, 'query'> & { sent: number } {
  const counter = {
    sent: 0,
    query: (...args: Parameters<InfluxQuery['query']>) => {
      counter.sent++;
      return client.query(...args);
    },
  };
  return counter;
}

/**
 * `device_availability` for October and the first days of November 2026: 12 devices over two
 * customers, three sites and one device without a customer, with outages of equal length (ties
 * in the worst-devices order), time in error and in maintenance.
 */
function fleetLines(): string[] {
  const lines: string[] = [];
  const sites = [
    ['acme', 'acme-berlin'],
    ['acme', 'acme-hamburg'],
    ['volt', 'volt-lyon'],
  ];
  for (let h = 0; h < 31 * 24 + 72; h++) {
    for (let n = 0; n < 12; n++) {
      const [customer, site] = sites[n % 3];
      const down = (n + h) % 50 === 0 ? 3600 : 0;
      const error = n === 4 && h % 100 === 0 ? 1800 : 0;
      const maintenance = n === 5 && h < 10 ? 3600 : 0;
      const online = 3600 - down - error - maintenance;
      const tags =
        n === 11 ? `device=loose-${n},kind=pc` : `customer=${customer},device=d${n},kind=terminal,site=${site}`;
      lines.push(
        `device_availability,${tags} online_s=${online}i,error_s=${error}i,offline_s=${down}i,` +
          `maintenance_s=${maintenance}i ${OCT + h * HOUR}`,
      );
    }
  }
  return lines;
}

describe('stored uptime reports', () => {
  const inv = tempInventory();
  let db: string;
  beforeAll(async () => {
    db = await influx.freshDatabase();
    const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, {
      method: 'POST',
      body: fleetLines().join('\n'),
    });
    expect(res.status).toBe(204);
    seedOwners(inv.inventory);
  });
  afterAll(() => inv.cleanup());

  it('equals the report computed from influxd, and a second request sends no query', async () => {
    const query = counted(influx.client(db));
    const stored = new StoredUptime({
      db: inv.inventory.db,
      influx: query,
      log,
      now: () => Date.parse('2026-12-07T00:00:00Z'),
    });
    const asks = [
      { month: '2026-10' },
      { month: '2026-10', customer: 'acme' },
      { month: '2026-10', site: 'volt-lyon', worst: 2 },
      { month: '2026-10', customer: 'acme', site: 'acme-hamburg', worst: 500 },
      { month: '2026-10', timezone: 'Europe/Berlin', worst: 30 },
      { month: '2026-11' },
      { month: '2025-01' },
    ];
    for (const ask of asks) {
      const computed = await uptimeReport({ influx: influx.client(db), db: inv.inventory.db, ...ask });
      expect(await stored.report(ask), JSON.stringify(ask)).toEqual(computed);
    }
    // One query per month and zone, for every customer and site at once: 2026-10 (UTC and Berlin), 2026-11, 2025-01.
    expect(query.sent).toBe(4);
    for (const ask of asks) await stored.report(ask);
    expect(query.sent).toBe(4);
  });

  it('sums the open month again only after refreshMinutes, answering from the stored sums meanwhile', async () => {
    const mine = tempInventory();
    try {
      seedOwners(mine.inventory);
      const query = counted(influx.client(db));
      let now = Date.parse('2026-11-03T12:00:00Z');
      const stored = new StoredUptime({
        db: mine.inventory.db,
        influx: query,
        log,
        now: () => now,
        refreshMinutes: 10,
      });
      const first = await stored.report({ month: '2026-11', customer: 'volt' });
      expect(query.sent).toBe(1);
      // A new outage of volt's d2 comes in: not shown until the sums are renewed.
      const late = `device_availability,customer=volt,device=d2,kind=terminal,site=volt-lyon online_s=0i,error_s=0i,offline_s=3600i,maintenance_s=0i ${NOV + 72 * HOUR}`;
      expect((await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: late })).status).toBe(
        204,
      );
      now += 9 * 60_000;
      expect(await stored.report({ month: '2026-11', customer: 'volt' })).toEqual(first);
      expect(query.sent).toBe(1);
      now += 60_000;
      // Due: this request still answers from the stored sums, and renews them in the background.
      expect(await stored.report({ month: '2026-11', customer: 'volt' })).toEqual(first);
      expect(query.sent).toBe(2);
      const fresh = await uptimeReport({
        influx: influx.client(db),
        db: mine.inventory.db,
        month: '2026-11',
        customer: 'volt',
      });
      expect(fresh.customers[0].offline_s).toBe(first.customers[0].offline_s + 3600);
      await until(() => mineOffline(mine.inventory.db) === fresh.customers[0].offline_s, 'the renewed sums');
      expect(await stored.report({ month: '2026-11', customer: 'volt' })).toEqual(fresh);
      expect(query.sent).toBe(2);
    } finally {
      mine.cleanup();
    }
  });

  it('sums the month that ended once it has settled, and never again after that', async () => {
    const mine = tempInventory();
    try {
      const query = counted(influx.client(db));
      let now = Date.parse('2026-11-01T06:00:00Z');
      const stored = new StoredUptime({
        db: mine.inventory.db,
        influx: query,
        log,
        now: () => now,
        refreshMinutes: 10,
      });
      await stored.closeMonths();
      expect(query.sent).toBe(0); // not settled yet (24 h)
      now = Date.parse('2026-11-02T00:00:00Z');
      await stored.closeMonths();
      expect(query.sent).toBe(1);
      await stored.closeMonths();
      now += 30 * 24 * HOUR;
      await stored.report({ month: '2026-10' });
      expect(query.sent).toBe(1);
      expect((await stored.report({ month: '2026-10' })).customers.map((c) => c.customer)).toEqual([
        '(none)',
        'acme',
        'volt',
      ]);
    } finally {
      mine.cleanup();
    }
  });

  it('GET /reports/uptime and its CSV read the stored sums', async () => {
    const mine = tempInventory();
    const query = counted(influx.client(db));
    const operations = new Operations({
      inventory: mine.inventory,
      bus: new CommandBus(),
      plugins: [],
      emit: () => {},
      log,
      influx: query,
    });
    const app = build({ inventory: mine.inventory, kinds: [], operations });
    try {
      const key = mine.inventory.apiKeys.create({ name: 'reader', role: 'viewer' }).key;
      const get = (url: string) =>
        app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${key}` } });
      const json = await get('/reports/uptime?month=2026-10');
      expect(json.statusCode).toBe(200);
      expect(json.json()).toEqual(
        await uptimeReport({ influx: influx.client(db), db: mine.inventory.db, month: '2026-10' }),
      );
      const csv = await get('/reports/uptime?month=2026-10&customer=acme&format=csv');
      expect(csv.statusCode).toBe(200);
      expect(csv.body).toContain('acme,acme-berlin');
      expect(query.sent).toBe(1);
    } finally {
      await app.close();
      mine.cleanup();
    }
  });
});

function mineOffline(db: import('better-sqlite3').Database): number {
  return db
    .prepare(
      "SELECT sum(offline_s) FROM uptime_sites WHERE month = '2026-11' AND timezone = 'UTC' AND customer = 'volt'",
    )
    .pluck()
    .get() as number;
}
