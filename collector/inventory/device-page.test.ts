import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageOf } from './device-page.ts';
import { listStatement } from './device-query.ts';
import {
  DEVICE_SORT_FIELDS,
  type Device,
  type DeviceKey,
  type DeviceListOptions,
  type DeviceSortField,
} from './device-types.ts';
import { seedOwners, tempInventory } from './testing.ts';

// Text that sorts differently in UTF-16 and UTF-8 (U+FF5E vs U+1F600), NULLs, equal values.
const TEXTS = ['a', 'B', 'b', 'ä', '～', '😀', 'a😀', 'a～', '10', '9', ''];
const SITES = ['acme-berlin', 'acme-hamburg', 'volt-lyon', null];

let t: ReturnType<typeof tempInventory>;
let seqs: number[];
let bySeq: Map<number, Device>;

beforeAll(() => {
  t = tempInventory();
  seedOwners(t.inventory);
  const pick = <T>(list: readonly T[], i: number, salt: number): T => list[(i * salt + (i >> 2)) % list.length];
  for (let i = 0; i < 80; i++) {
    const id = `${pick(['D', 'd', 'é', '～', '😀'], i, 5)}-${String(i % 40).padStart(2, '0')}${i >= 40 ? 'x' : ''}`;
    t.inventory.devices.create({
      id,
      kind: pick(['terminal', 'pc', 'charger'], i, 7),
      model: i % 5 === 0 ? null : pick(TEXTS, i, 3),
      site: pick(SITES, i, 11),
      gateway: i % 3 === 0 ? null : pick(TEXTS, i, 13),
      firmware: i % 7 === 0 ? null : pick(TEXTS, i, 17),
      installed_on: i % 2 ? `2024-0${(i % 9) + 1}-01` : null,
      labels: i % 4 === 0 ? {} : { zone: pick(['n', 's'], i, 3), ...(i % 3 ? { tier: 'gold' } : {}) },
      lifecycle: pick(['active', 'pending', 'retired'] as const, i, 19),
    });
    if (i % 3)
      t.inventory.directory.reportStatus(id, pick(['online', 'offline', 'error'] as const, i, 23), 1000 + (i % 6));
  }
  t.inventory.devices.count();
  t.inventory.devices.list({ limit: 1 }); // flushes the states
  const rows = t.inventory.db.prepare('SELECT seq, id FROM devices').all() as { seq: number; id: string }[];
  seqs = rows.map((r) => r.seq);
  bySeq = new Map(rows.map((r) => [r.seq, t.inventory.devices.get(r.id)!]));
});
afterAll(() => t.cleanup());

/** The SQL path for the same candidates: the statement Devices.list ran before device-page.ts. */
function sqlPage(opts: DeviceListOptions, rowids: number[]): { ids: string[]; more: boolean } {
  const { sql, values } = listStatement({ ...opts, q: 'x' }, { kind: 'rowids', rowids }, 'd.id');
  const ids = t.inventory.db
    .prepare(sql)
    .pluck()
    .all(...values) as string[];
  return { ids: ids.slice(0, opts.limit), more: ids.length > opts.limit };
}

const keyOf = (d: Device, field: DeviceSortField): DeviceKey => ({ value: d[field], id: d.id });

describe('pageOf (in-memory pages of search matches)', () => {
  it('gives the pages and cursors of the SQL statement for any candidates, filter and sort', () => {
    const filterArb = fc.oneof(
      fc.constant({}),
      fc.record({ kind: fc.constantFrom('terminal', 'pc', 'charger') }),
      fc.record({ state: fc.constantFrom('online', 'offline', 'unknown' as const) }),
      fc.record({
        labels: fc.constantFrom<Record<string, string>>({ zone: 'n' }, { zone: 's', tier: 'gold' }, { nope: 'x' }),
      }),
      fc.record({
        site: fc.constantFrom('acme-berlin', 'volt-lyon'),
        lifecycle: fc.constantFrom('active', 'pending' as const),
      }),
      fc.record({ customer: fc.constantFrom('acme', 'volt'), model: fc.constantFrom(...TEXTS) }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...DEVICE_SORT_FIELDS),
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        filterArb,
        fc.func(fc.boolean()),
        (field, desc, limit, filter, chosen) => {
          const rowids = seqs.filter((s) => chosen(s));
          const candidates = rowids.map((s) => bySeq.get(s)!);
          let after: DeviceKey | undefined;
          for (let guard = 0; guard < 100; guard++) {
            const opts: DeviceListOptions = { ...filter, sort: { field, desc }, after, limit };
            const memory = pageOf(candidates, opts);
            const sql = sqlPage(opts, rowids);
            expect({ ids: memory.items.map((d) => d.id), more: memory.more }, JSON.stringify(opts)).toEqual(sql);
            if (!memory.more) break;
            after = keyOf(memory.items.at(-1)!, field);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('serves Devices.list with the same page SQL gives, also for a cursor of the wrong type (left to SQL)', () => {
    const q = 'acme'; // the customer's company: every device at an acme site
    const rowids = t.inventory.db
      .prepare(`SELECT rowid FROM device_search WHERE device_search MATCH '"acme"'`)
      .pluck()
      .all() as number[];
    expect(rowids.length).toBeGreaterThan(10);
    for (const after of [
      undefined,
      { value: 1005, id: 'D-10' },
      { value: 'x', id: 'D-10' },
      { value: null, id: '😀' },
    ]) {
      for (const field of ['firmware', 'last_seen'] as const) {
        const opts: DeviceListOptions = { q, sort: { field, desc: false }, after, limit: 5 };
        const page = t.inventory.devices.list(opts);
        expect({ ids: page.items.map((d) => d.id), more: page.more }, JSON.stringify(opts)).toEqual(
          sqlPage(opts, rowids),
        );
      }
    }
  });
});
