/**
 * Disk full in the real `serve`, on a real small filesystem: serve's data dir is a tmpfs in a
 * private mount namespace (test/helpers/small-disk.ts), InfluxDB is a real influxd on another
 * disk that the test stops and starts. POS back-office deliveries fill the disk while InfluxDB is
 * down. Serve never exits: it refuses deliveries with 503 `disk_full`, counts the refused points,
 * says `disk_full` on /healthz, stops cleanly and starts again on the still-full disk; when
 * InfluxDB is back the drain empties the spool, the state ends by itself, and every delivery it
 * acknowledged is in InfluxDB exactly once (the refused ones too, once the back office resends).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInventory } from '../collector/inventory/index.ts';
import { postEvents } from '../plugins/pos/testing.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { metricValue, startServe, type ServeProcess } from './helpers/serve-process.ts';
import { mountSmallDisk, smallDiskUnavailable, type SmallDisk } from './helpers/small-disk.ts';

const unavailable = smallDiskUnavailable();
const DISK_BYTES = 16 * 1024 * 1024;
/** What the spool leaves free for SQLite (pipeline.disk_reserve_bytes). */
const RESERVE = 4 * 1024 * 1024;
/** Left free above the reserve once serve runs: the spool fills it within a few hundred deliveries. */
const LEAVE_FREE = 2 * 1024 * 1024;
const BATCH = 500;

describe.skipIf(unavailable !== undefined)(
  `serve on a full disk${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const influx = useInfluxd();
    const root = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-serve-disk-'));
    const running: ServeProcess[] = [];
    let disk: SmallDisk;
    let secret = '';
    let config: Record<string, unknown>;

    beforeAll(async () => {
      disk = await mountSmallDisk(path.join(root, 'disk'), DISK_BYTES);
      const dataDir = path.join(disk.dir, 'data');
      // The inventory serve opens (a back office and its POS device), made here and copied in:
      // SQLite resolves /proc/<pid>/root to this process's own root.
      const seed = path.join(root, 'seed');
      const inventory = openInventory({ path: path.join(seed, 'fleetpulse.db'), env: {} });
      try {
        inventory.customers.create({ id: 'acme', company: 'acme' });
        inventory.devices.create({ id: 'bo-acme', kind: 'pos', customer: 'acme' });
        inventory.devices.create({ id: 'pos-acme', kind: 'pos', customer: 'acme', gateway: 'bo-acme' });
        secret = inventory.credentials.issue('bo-acme', 'pos_hmac').secret;
      } finally {
        inventory.close();
      }
      cpSync(seed, disk.outside(dataDir), { recursive: true });
      config = {
        data_dir: dataDir,
        http: { host: '127.0.0.1', port: 0 },
        influx: { url: influx.url, database: await influx.freshDatabase() },
        pipeline: { flush_interval_ms: 50, shutdown_flush_s: 2, disk_reserve_bytes: RESERVE },
        backup: { schedule: 'off' },
        // Liveness saves its state to the same disk every status interval: often, to meet the full disk.
        liveness: { status_interval_s: 1 },
      };
    });
    afterAll(async () => {
      for (const s of running) await s.stop('SIGKILL');
      await disk?.release();
      rmSync(root, { recursive: true, force: true });
    });

    async function serve(): Promise<ServeProcess> {
      const s = await startServe({ dir: root, config, prefix: disk.enter, env: { FLEETPULSE_SECRET_KEY: '' } });
      running.push(s);
      return s;
    }

    // Within the database's retention; event k is at T0 + k ms, so each is its own point.
    const T0 = Date.now() - 3_600_000;
    let next = 0;
    const batch = () =>
      Array.from({ length: BATCH }, () => {
        const k = next++;
        return {
          id: `e-${k}`,
          type: 'order',
          device: 'pos-acme',
          store: 'store-1',
          time: T0 + k,
          order_id: `o-${k}-${Math.random().toString(36).slice(2)}`,
          total: k % 1000,
          currency: 'EUR',
          items: 1,
          payment_method: 'card',
          status: 'completed',
        };
      });

    const db = () => (config.influx as { database: string }).database;
    const health = async (s: ServeProcess) => (await fetch(`${s.url}/healthz`)).json() as Promise<Health>;
    const refusedPoints = (s: ServeProcess) =>
      metricValue(s.url, 'fleetpulse_points_dropped_total{reason="disk_full"}');

    it('refuses and counts while full, never exits, restarts on the full disk, and stores every acknowledged point once', async () => {
      const acked: Array<{ time: number; order_id: string }> = [];
      const refused: ReturnType<typeof batch>[] = [];
      const deliver = async (s: ServeProcess, events: ReturnType<typeof batch>) => {
        const res = await postEvents(s.url, 'bo-acme', secret, events);
        if (res.status === 200) {
          expect(res.body).toEqual({ accepted: events.length, duplicates: 0 });
          acked.push(...events.map((e) => ({ time: e.time, order_id: e.order_id })));
        } else {
          expect(res, JSON.stringify(res.body)).toMatchObject({ status: 503, body: { error: 'disk_full' } });
          refused.push(events);
        }
        return res.status;
      };

      const first = await serve();
      for (let i = 0; i < 2; i++) expect(await deliver(first, batch())).toBe(200);
      await influx.stop();
      disk.fill(RESERVE + LEAVE_FREE);

      // Deliveries until the disk is full, then a few more: all refused.
      let afterFull = 0;
      for (let i = 0; afterFull < 5; i++) {
        if (i > 2000) throw new Error(`the disk never filled (${disk.freeBytes()} bytes free)`);
        if ((await deliver(first, batch())) === 503) afterFull++;
      }
      const full = await until('/healthz to say disk_full', async () => {
        const h = await health(first);
        return h.spool.disk_full ? h : undefined;
      });
      expect(full).toMatchObject({ status: 'degraded', influx: { reachable: false } });
      expect(full.reasons).toContain('disk_full');
      const refusedByFirst = await refusedPoints(first);
      // A delivery may also be refused after its commit, when the replay table (same disk)
      // cannot remember its ids: then its points are kept, not counted, and a resend overwrites them.
      expect(refusedByFirst).toBeGreaterThan(0);
      expect(await metricValue(first.url, 'fleetpulse_plugin_events_total{plugin="pos",event="disk_full"}')).toBe(
        refused.length,
      );
      expect(first.output()).toContain('disk full: new points are refused');
      // Then something else takes the reserve too (a log, a core dump): now SQLite itself fails,
      // also in timers (liveness saves its state every second here), and serve lives on.
      const other = disk.fill(0);
      await until('a liveness save on the full disk', async () => {
        if (first.child.exitCode !== null) throw new Error(`serve exited:\n${first.output().slice(-3000)}`);
        return first.output().includes('liveness state not saved: disk full');
      });
      expect((await health(first)).spool.disk_full).toBe(true);
      const freeWhenFull = disk.freeBytes();
      other.remove(); // the operator deletes it
      expect(first.child.exitCode).toBeNull();

      // A clean stop on the full disk, and a start there: it listens and answers (the issue's
      // restart died at its first commit, before it listened).
      const firstExit = await first.stop('SIGTERM');
      expect(firstExit, first.output().slice(-6000)).toEqual({ code: 0, signal: null });
      // Its WAL, checkpointed and removed at the stop, gave back some room: the disk is made full
      // again (below the reserve) for the restart.
      disk.fill(RESERVE / 2);
      const freeAtRestart = disk.freeBytes();
      const second = await serve();
      expect((await health(second)).influx.reachable).toBe(false);
      const restartDelivery = await deliver(second, batch());

      await influx.start();
      await until(
        'the acknowledged orders in influxd',
        async () => (await influx.count('pos_order', db())) >= acked.length,
        120_000,
        () => second.output().slice(-4000),
      );
      const recovered = await until('disk_full to end by itself', async () => {
        const h = await health(second);
        return !h.spool.disk_full && h.status === 'ok' ? h : undefined;
      });
      expect(recovered.reasons).toEqual([]);
      expect(second.output()).toContain('disk full no more');

      const stored = await storedOrders(db());
      const acknowledged = acked.length;
      // Every acknowledged point, once (one point per time); anything else is of a refused delivery.
      for (const a of acked) expect(stored.get(a.time)).toBe(a.order_id);
      const refusedIds = new Set(refused.flatMap((events) => events.map((e) => e.order_id)));
      const storedRefused = [...stored.values()].filter((id) => refusedIds.has(id)).length;
      expect(stored.size).toBe(acknowledged + storedRefused);
      const refusedBySecond = await refusedPoints(second);

      // The back office sends the refused deliveries again: now they are taken and stored.
      const resend = [...refused];
      refused.length = 0;
      for (const events of resend) expect(await deliver(second, events)).toBe(200);
      await until('every delivery in influxd', async () => (await influx.count('pos_order', db())) >= next, 60_000);
      const all = await storedOrders(db());
      expect(all.size).toBe(next);
      for (const a of acked) expect(all.get(a.time)).toBe(a.order_id);
      expect(second.child.exitCode).toBeNull();

      console.log(
        [
          'serve on a full disk (tmpfs %d MiB, %d bytes free when full):',
          '  points acknowledged %d, stored %d after InfluxDB came back (%d of them from deliveries answered 503)',
          '  points refused disk_full %d (first serve) + %d (restarted serve), %d deliveries of %d answered 503',
          '  restarted on the full disk (%d bytes free): first delivery answered %d',
          '  after the refused deliveries were sent again: %d points sent, %d stored',
        ].join('\n'),
        DISK_BYTES / 1024 / 1024,
        freeWhenFull,
        acknowledged,
        stored.size,
        storedRefused,
        refusedByFirst,
        refusedBySecond,
        resend.length,
        BATCH,
        freeAtRestart,
        restartDelivery,
        next,
        all.size,
      );
    }, 300_000);

    /** `order_id` of every stored pos_order point, by time (ms). */
    async function storedOrders(database: string): Promise<Map<number, string>> {
      const series = await influx.query(`SELECT "order_id" FROM "pos_order" WHERE time >= ${T0}ms`, { db: database });
      const byTime = new Map<number, string>();
      for (const [time, id] of series[0]?.values ?? []) {
        const t = typeof time === 'number' ? time : Date.parse(String(time));
        expect(byTime.has(t)).toBe(false);
        byTime.set(t, String(id));
      }
      return byTime;
    }
  },
);

interface Health {
  status: string;
  reasons: string[];
  influx: { reachable: boolean };
  spool: { points: number; disk_full: boolean };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  limitMs = 60_000,
  detail = () => '',
): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
