/**
 * Device text search in the inventory, in process (no HTTP): `Devices.list({ q, limit: 100 })`
 * over the 20,000-device fleet of bench/devices-api.ts, beside the way it matched before
 * migration 8, which is kept here as the reference: one bounded FTS pass over device_search
 * (every device's row carries its site and customer name, so a name shared by 1,000 devices is
 * 1,000 index hits), then the same in-memory page (device-page.ts). Both sides answer the same
 * queries (a city shared by ~1,000 devices, a customer name, a device id prefix, a miss, two
 * characters); the pages are compared before timing. Timed in rounds that alternate which side
 * goes first; each figure is a side's median per-query CPU time, the ratio the median of the
 * rounds' ratios. The HTTP route's p99 is bench/devices-api.ts.
 *
 * Run: npx tsx bench/device-search.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openInventory, type Device } from '../collector/inventory/index.ts';
import { pageOf } from '../collector/inventory/device-page.ts';
import { canIndex, ftsPhrase } from '../collector/inventory/device-query.ts';
import { likePattern } from '../collector/inventory/customers.ts';
import { loadFleet } from './devices-api.ts';
import { median } from './median.ts';
import type { Result } from './result.ts';

const DEVICES = 20_000;
const ROUNDS = 9;
const REPEATS = 40;
const QUERIES = ['leipzig', 'globex retail 46', 'TE-0012', 'nowhere', 'dres', 'ck', 'Porto Store 4'];

export async function run(): Promise<Result> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-bench-'));
  const inventory = openInventory({ path: path.join(dir, 'fleetpulse.db'), env: {} });
  const load = os.loadavg()[0];
  try {
    loadFleet(inventory, DEVICES);
    const db = inventory.db;
    const fts = db.prepare('SELECT rowid FROM device_search WHERE device_search MATCH ? LIMIT 1001').pluck();
    const like = db
      .prepare(
        `SELECT rowid FROM device_search
         WHERE id LIKE @like ESCAPE '\\' OR site LIKE @like ESCAPE '\\' OR customer LIKE @like ESCAPE '\\' LIMIT 1001`,
      )
      .pluck();
    const bySeq = new Map<number, Device>();
    for (const [seq, id] of db.prepare('SELECT seq, id FROM devices').raw().all() as [number, string][])
      bySeq.set(seq, inventory.devices.get(id)!);
    const ours = (q: string) => inventory.devices.list({ q, limit: 100 }).items;
    const before = (q: string) => {
      const rowids = (canIndex(q) ? fts.all(ftsPhrase(q)) : like.all({ like: likePattern(q) })) as number[];
      // Past 1,000 matches both walked devices in page order: none of these queries gets there.
      if (rowids.length > 1000) throw new Error(`'${q}' matches over 1,000 devices`);
      return pageOf(
        rowids.map((seq) => bySeq.get(seq)!),
        { q, limit: 100 },
      ).items;
    };
    for (const q of QUERIES) {
      const a = ours(q).map((d) => d.id);
      if (
        a.join() !==
        before(q)
          .map((d) => d.id)
          .join()
      )
        throw new Error(`'${q}': the two searches differ`);
    }
    const time = (search: (q: string) => Device[]) => {
      const start = process.cpuUsage();
      for (let i = 0; i < REPEATS; i++) for (const q of QUERIES) search(q);
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000 / (REPEATS * QUERIES.length);
    };
    time(ours);
    time(before);
    const oursMs: number[] = [];
    const beforeMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        oursMs.push(time(ours));
        beforeMs.push(time(before));
      } else {
        beforeMs.push(time(before));
        oursMs.push(time(ours));
      }
    }
    return {
      name: `device text search in process, ${QUERIES.length} queries, ${DEVICES.toLocaleString('en-US')} devices (median of ${ROUNDS} rounds)`,
      ours: median(oursMs),
      reference: median(beforeMs),
      ratio: median(oursMs.map((o, i) => o / beforeMs[i])),
      goals: [{ on: 'ratio', atMost: 1 }],
      unit: 'ms CPU/query',
      note: `reference: device_search FTS per device, as before migration 8; load ${load.toFixed(2)}`,
    };
  } finally {
    inventory.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await run();
  console.log(
    `${r.name}: ours ${r.ours.toFixed(4)} ms, before ${r.reference.toFixed(4)} ms, ratio ${r.ratio.toFixed(4)}`,
  );
}
