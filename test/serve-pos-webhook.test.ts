/**
 * The POS webhook in the real `serve` process, against a real influxd:
 * - kill -9 right after the delivery's ids are remembered (the answer possibly unread): after the
 *   restart the same delivery is refused as a replay, and its events are in InfluxDB exactly once
 *   (the ids are remembered only after the events' spool commit, so they cannot be lost);
 * - a batch mixing good events with forged, unknown and mistyped ones stores the good ones and
 *   refuses, counts and keeps out of InfluxDB every other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInventory } from '../collector/inventory/index.ts';
import { postEvents } from '../plugins/pos/testing.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { metricValue, startServe, type ServeProcess } from './helpers/serve-process.ts';

const influx = useInfluxd();
const root = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-serve-pos-'));
const dataDir = path.join(root, 'data');
const running: ServeProcess[] = [];
let secret = '';
let config: Record<string, unknown>;

beforeAll(async () => {
  // The inventory serve will open: two customers, each with a back office and a POS device.
  const inventory = openInventory({ path: path.join(dataDir, 'fleetpulse.db'), env: {} });
  try {
    for (const customer of ['acme', 'victim']) {
      inventory.customers.create({ id: customer, company: customer });
      inventory.devices.create({ id: `bo-${customer}`, kind: 'pos', customer });
      inventory.devices.create({ id: `pos-${customer}`, kind: 'pos', customer, gateway: `bo-${customer}` });
    }
    secret = inventory.credentials.issue('bo-acme', 'pos_hmac').secret;
  } finally {
    inventory.close();
  }
  config = {
    data_dir: dataDir,
    http: { host: '127.0.0.1', port: 0 },
    influx: { url: influx.url, database: await influx.freshDatabase() },
    // A commit every 3 s: were ids remembered before the commit, the kill would land between.
    pipeline: { flush_interval_ms: 50, commit_interval_ms: 3000 },
  };
});
afterAll(async () => {
  for (const s of running) await s.stop('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

async function serve(): Promise<ServeProcess> {
  const s = await startServe({ dir: root, config, env: { FLEETPULSE_SECRET_KEY: '' } });
  running.push(s);
  return s;
}

// Within the database's retention (365 d), whole seconds apart from the offsets below.
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const order = (id: string, i: number, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'order',
  device: 'pos-acme',
  store: 'store-1',
  time: T0 + i,
  order_id: `o-${id}`,
  total: 10 + i,
  currency: 'EUR',
  items: 1,
  payment_method: 'card',
  status: 'completed',
  ...extra,
});

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  limitMs = 30_000,
): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const db = () => (config.influx as { database: string }).database;

describe('serve: POS webhook', () => {
  it('a delivery whose ids were remembered before a kill -9 is refused as a replay after restart, its events stored once', async () => {
    const first = await serve();
    const delivery = Array.from({ length: 20 }, (_, i) => order(`crash-${i}`, i));
    const answer = postEvents(first.url, 'bo-acme', secret, delivery).catch((err: Error) => err);
    // Kill the moment the ids are remembered, checking between turns of the event loop (the
    // request must be sent): well inside the spool's 3 s commit interval, were the ids
    // remembered before the commit.
    const replay = new Database(path.join(dataDir, 'fleetpulse.db'), { readonly: true, fileMustExist: true });
    try {
      const remembered = () =>
        tableExists(replay) &&
        replay.prepare("SELECT COUNT(*) FROM pos_events_seen WHERE sender = 'bo-acme'").pluck().get() === 20;
      const end = Date.now() + 30_000;
      while (!remembered()) {
        if (Date.now() > end)
          throw new Error(`the delivery ids never reached the replay table:\n${first.output().slice(-2000)}`);
        await new Promise((r) => setImmediate(r));
      }
      first.child.kill('SIGKILL');
    } finally {
      replay.close();
    }
    expect((await first.exited).signal).toBe('SIGKILL');
    await answer; // an answer or a reset connection: either way, unread by the back office

    const second = await serve();
    expect(await postEvents(second.url, 'bo-acme', secret, delivery)).toEqual({
      status: 200,
      body: { accepted: 0, duplicates: 20 },
    });
    await until('the 20 orders in influxd', async () => (await influx.count('pos_order', db(), 'total')) >= 20);
    expect(await influx.count('pos_order', db(), 'total')).toBe(20);
    const ids = await influx.query(`SELECT "order_id" FROM "pos_order" WHERE time >= ${T0}ms AND time < ${T0 + 20}ms`, {
      db: db(),
    });
    expect(ids[0].values.map((v) => v[1]).sort()).toEqual(delivery.map((e) => e.order_id).sort());
  });

  it('stores the good events of a batch and refuses forged, unknown and mistyped ones, counted and absent from influxd', async () => {
    const s = running.find((r) => r.child.exitCode === null && r.child.signalCode === null) ?? (await serve());
    const counter = (event: string) =>
      metricValue(s.url, `fleetpulse_plugin_events_total{plugin="pos",event="${event}"}`);
    const before = { invalid: await counter('events_invalid'), notOwned: await counter('events_not_owned') };
    const at = T0 + 1000;
    const res = await postEvents(s.url, 'bo-acme', secret, [
      order('mix-good', 1000),
      // another customer's device, behind another back office
      order('mix-forged', 1001, { device: 'pos-victim', total: 99_999 }),
      order('mix-unknown', 1002, { type: 'shipment' }), // no such event type
      order('mix-string', 1003, { total: '12.50' }), // a number as a string
      order('mix-good-2', 1004),
    ]);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_events', accepted: 2, duplicates: 0 });
    expect(res.body.rejected).toEqual([
      { index: 1, field: 'events[1].device', error: 'events[1].device: belongs to another back office' },
      {
        index: 2,
        field: 'events[2].type',
        error: 'events[2].type: must be one of heartbeat, order, payment, refund, error',
      },
      { index: 3, field: 'events[3].total', error: 'events[3].total: must be a number from 0 to 1000000000' },
    ]);
    expect(await counter('events_invalid')).toBe(before.invalid + 3);
    expect(await counter('events_not_owned')).toBe(before.notOwned + 1);

    await until('the two good orders in influxd', async () => {
      const rows = await influx.query(`SELECT "order_id" FROM "pos_order" WHERE time >= ${at}ms`, { db: db() });
      return rows[0]?.values.length === 2 ? rows : undefined;
    });
    const rows = await influx.query(
      `SELECT "order_id", "customer", "device", "total" FROM "pos_order" WHERE time >= ${at}ms`,
      { db: db() },
    );
    expect(rows[0].values.map((v) => v.slice(1))).toEqual([
      ['o-mix-good', 'acme', 'pos-acme', 1010],
      ['o-mix-good-2', 'acme', 'pos-acme', 1014],
    ]);
    expect(await influx.count('pos_order', db())).toBe(22);
    expect(await influx.query(`SELECT * FROM "pos_order" WHERE "customer" = 'victim'`, { db: db() })).toEqual([]);
    const measurements = (await influx.query('SHOW MEASUREMENTS', { db: db() }))[0].values.map((v) => String(v[0]));
    expect(measurements.filter((m) => m.includes('shipment'))).toEqual([]);
    const types = await influx.query('SHOW FIELD KEYS FROM "pos_order"', { db: db() });
    expect(types[0].values).toContainEqual(['total', 'float']);
  });
});

function tableExists(replay: Database.Database): boolean {
  return replay.prepare("SELECT 1 FROM sqlite_master WHERE name = 'pos_events_seen'").get() !== undefined;
}
