import Database from 'better-sqlite3';
import fc from 'fast-check';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceFilter, DeviceListOptions } from './device-types.ts';
import { migrate, migrations } from './migrations.ts';
import { openInventory, type Inventory } from './store.ts';
import { tempDir } from './testing.ts';

// Names and ids that stress both matchers: FTS and LIKE metacharacters, quotes, case folding
// beyond ASCII (ä/Ä, ß, Σ/σ/ς, İ), a character outside the BMP, spaces.
const PIECES = ['Acme', 'acme', 'ÄRGER', 'ärger', 'Straße', 'ΣΟΦΙΑ', 'σοφίας', 'İzmir', '😀', '%', '_', '\\', '"', "'"];
const PIECES2 = ['*', 'NEAR', 'AND', ' ', '-', '100', 'x', 'lei', 'Leipzig', 'ab"c'];
const ALPHABET = [...new Set([...PIECES, ...PIECES2].join(''))];

let dir: ReturnType<typeof tempDir>;
let inv: Inventory;

const pick = <T>(list: readonly T[], i: number, salt: number): T => list[(i * salt + (i >> 1)) % list.length];
const name = (i: number, salt: number) => [pick(PIECES, i, salt), pick(PIECES2, i, salt + 2), String(i)].join(' ');

/**
 * The search before migration 8, as the SQL statement over device_search alone has it
 * (`Devices.all` builds it: trigram FTS for 3+ characters, LIKE for shorter).
 */
const reference = (q: string) => inv.devices.all({ q }).map((d) => d.id);
const listed = (q: string) => inv.devices.list({ q, limit: 5000 }).items.map((d) => d.id);

function fill(target: Inventory): void {
  for (let c = 0; c < 12; c++) target.customers.create({ id: `c${c}`, company: name(c, 3), contract: 'standard' });
  for (let s = 0; s < 40; s++)
    target.sites.create({ id: `s${s}`, customer: `c${s % 12}`, name: name(s, 5), timezone: 'UTC' });
  for (let d = 0; d < 600; d++) {
    target.devices.create({
      id: `${pick(['TC', 'tc', 'ä', '😀', '%_', '"q'], d, 7)}-${String(d).padStart(4, '0')}`,
      kind: d % 5 === 0 ? 'pc' : 'terminal',
      // Some devices without a site, some of a customer but at none of its sites.
      site: d % 9 === 0 ? undefined : `s${d % 40}`,
      customer: d % 9 === 0 && d % 2 === 0 ? `c${d % 12}` : undefined,
    });
  }
}

beforeAll(() => {
  dir = tempDir();
  inv = openInventory({ path: path.join(dir.dir, 'fleetpulse.db'), env: {} });
  fill(inv);
});

afterAll(() => {
  inv.close();
  dir.cleanup();
});

const queries = fc.oneof(
  fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 1, maxLength: 6 }),
  fc.constantFrom(...PIECES, ...PIECES2, 'acme ', 'ärg', 'ÄRG', 'sse', 'ß', 'σοφ', 'ΣΟΦ', 'izm', 'i̇zm', '00', '1'),
);

describe('device text search by name', () => {
  it('finds the same devices as device_search for any query, hostile ones included', () => {
    // Queries that match something must be among them, or equal empty lists prove nothing.
    expect(listed('acme').length).toBeGreaterThan(0);
    expect(listed('ärger').length).toBeGreaterThan(0);
    expect(listed('%_').length).toBeGreaterThan(0);
    fc.assert(
      fc.property(queries, (q) => {
        expect(listed(q)).toEqual(reference(q));
      }),
      { numRuns: 400 },
    );
  });

  it('pages a search by id with cursors: every match once, in id order, both ways, filtered or not', () => {
    // Devices of a matching site and of a matching customer are in two of the merged lists.
    const both = inv.devices.all({ q: 'acme' }).filter((d) => {
      const site = d.site === null ? '' : inv.sites.require(d.site).name;
      const company = d.customer === null ? '' : inv.customers.require(d.customer).company;
      return site.toLowerCase().includes('acme') && company.toLowerCase().includes('acme');
    });
    expect(both.length).toBeGreaterThan(0);
    const walk = (opts: Omit<DeviceListOptions, 'after'>) => {
      const walked: string[] = [];
      let after: DeviceListOptions['after'];
      for (let guard = 0; guard < 1000; guard++) {
        const page = inv.devices.list({ ...opts, after });
        expect(page.items.length).toBeLessThanOrEqual(opts.limit);
        walked.push(...page.items.map((d) => d.id));
        if (!page.more) break;
        expect(page.items.length).toBe(opts.limit);
        // The cursor the API hands out as next_cursor for a list by id.
        after = { value: page.items.at(-1)!.id, id: page.items.at(-1)!.id };
      }
      return walked;
    };
    fc.assert(
      fc.property(
        queries,
        fc.boolean(),
        fc.constantFrom(1, 7, 100),
        fc.constantFrom<DeviceFilter>({}, { kind: 'pc' }, { customer: 'c3' }),
        (q, desc, limit, filter) => {
          const expected = inv.devices.all({ ...filter, q }).map((d) => d.id);
          if (desc) expected.reverse();
          expect(walk({ ...filter, q, limit, sort: { field: 'id', desc } })).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
    for (const desc of [false, true]) {
      const expected = reference('acme');
      if (desc) expected.reverse();
      expect(expected.length).toBeGreaterThan(20);
      expect(walk({ q: 'acme', limit: 7, sort: { field: 'id', desc } })).toEqual(expected);
    }
  });

  it('stays in step with renames, moves, new and deleted devices, sites and customers', () => {
    const [moved, gone] = inv.devices.all({ site: 's7' }).map((d) => d.id);
    const oldSite = inv.sites.require('s7').name; // the moved device's old site: it must no longer match
    inv.sites.update('s3', { name: 'Leipzig Hbf' });
    inv.customers.update('c5', { company: 'Zwickau "Strom" GmbH' });
    inv.devices.update(moved, { site: 's3' });
    inv.devices.delete(gone);
    inv.customers.create({ id: 'c-new', company: 'Neu Leipziger', contract: 'basic' });
    inv.sites.create({ id: 's-new', customer: 'c-new', name: 'Dresden Neustadt', timezone: 'UTC' });
    inv.devices.create({ id: 'NEW-leipzig-1', kind: 'pc', site: 's-new' });
    inv.sites.create({ id: 's-gone', customer: 'c-new', name: 'Gone Leipzig', timezone: 'UTC' });
    inv.sites.delete('s-gone');
    for (const q of ['leipzig', 'Leip', 'strom', '"strom"', 'dresden', 'neu', moved, gone, 'gone', 'le', oldSite]) {
      expect(listed(q), q).toEqual(reference(q));
    }
    expect(listed('leipzig')).toContain(moved);
    expect(listed('leipzig')).toContain('NEW-leipzig-1');
    expect(listed(gone)).toEqual([]);
    expect(listed('gone')).toEqual([]);
  });

  it('indexes the names and ids of an inventory made before migration 8', () => {
    const old = tempDir();
    try {
      const file = path.join(old.dir, 'fleetpulse.db');
      const db = new Database(file);
      migrate(
        db,
        migrations.filter((m) => m.version < 8),
      );
      db.exec(`
        INSERT INTO customers (id, company, contract, created_at, updated_at) VALUES ('c', 'Acme Leipzig', 'basic', 0, 0);
        INSERT INTO sites (id, customer_id, name, timezone, created_at, updated_at) VALUES ('s', 'c', 'Halle Markt', 'UTC', 0, 0);
        INSERT INTO devices (id, kind, site_id, customer_id, lifecycle, created_at, updated_at)
          VALUES ('TC-OLD', 'terminal', 's', 'c', 'active', 0, 0);
      `);
      db.close();
      const after = openInventory({ path: file, env: {} });
      try {
        const ids = (q: string) => after.devices.list({ q, limit: 10 }).items.map((d) => d.id);
        expect(ids('leipzig')).toEqual(['TC-OLD']);
        expect(ids('halle')).toEqual(['TC-OLD']);
        expect(ids('c-ol')).toEqual(['TC-OLD']);
      } finally {
        after.close();
      }
    } finally {
      old.cleanup();
    }
  });
});
