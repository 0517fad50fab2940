import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEVICE_SORT_FIELDS, type Device, type DeviceListOptions, type DeviceSortField } from './device-types.ts';
import { InventoryError } from './errors.ts';
import { seedOwners, tempInventory } from './testing.ts';

let t: ReturnType<typeof tempInventory>;
beforeEach(() => {
  t = tempInventory();
  seedOwners(t.inventory);
});
afterEach(() => t.cleanup());

function catchError(fn: () => unknown): InventoryError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InventoryError) return err;
    throw err;
  }
  throw new Error('expected an InventoryError');
}

describe('devices', () => {
  it('takes the customer from the site, and refuses a site of another customer', () => {
    const d = t.inventory.devices.create({ id: 'TC-1', kind: 'terminal', site: 'acme-berlin' });
    expect(d).toMatchObject({
      customer: 'acme',
      site: 'acme-berlin',
      lifecycle: 'active',
      state: 'unknown',
      labels: {},
    });
    const err = catchError(() =>
      t.inventory.devices.create({ id: 'TC-2', kind: 'terminal', customer: 'volt', site: 'acme-berlin' }),
    );
    expect(err).toMatchObject({ reason: 'invalid', field: 'site' });
    expect(t.inventory.devices.get('TC-2')).toBeUndefined();
    expect(
      catchError(() => t.inventory.devices.create({ id: 'TC-3', kind: 'terminal', customer: 'nope' })),
    ).toMatchObject({ field: 'customer' });
  });

  it('refuses a duplicate id with a conflict', () => {
    t.inventory.devices.create({ id: 'TC-1', kind: 'terminal' });
    expect(catchError(() => t.inventory.devices.create({ id: 'TC-1', kind: 'pc' }))).toMatchObject({
      reason: 'conflict',
      field: 'id',
    });
    expect(t.inventory.devices.get('TC-1')?.kind).toBe('terminal');
  });

  it('moves devices between sites and keeps the customer when the site is cleared', () => {
    t.inventory.devices.create({ id: 'TC-1', kind: 'terminal', site: 'acme-berlin' });
    expect(t.inventory.devices.update('TC-1', { site: 'volt-lyon' })).toMatchObject({
      site: 'volt-lyon',
      customer: 'volt',
    });
    expect(t.inventory.devices.update('TC-1', { site: null })).toMatchObject({ site: null, customer: 'volt' });
    expect(catchError(() => t.inventory.devices.update('TC-1', { customer: 'acme', site: 'volt-lyon' }))).toMatchObject(
      { field: 'site' },
    );
    expect(t.inventory.devices.update('TC-1', { labels: { zone: 'b' }, firmware: '2.1.0' })).toMatchObject({
      labels: { zone: 'b' },
      firmware: '2.1.0',
    });
    expect(t.inventory.directory.lookup('TC-1')).toMatchObject({
      customer: 'volt',
      firmware: '2.1.0',
      labels: { zone: 'b' },
    });
  });

  it('filters by every field, by labels, and searches id, site and customer names', () => {
    const inv = t.inventory;
    inv.devices.create({
      id: 'TC-100',
      kind: 'terminal',
      model: 'TC-200',
      site: 'acme-berlin',
      firmware: '1.0',
      labels: { zone: 'north', floor: '1' },
    });
    inv.devices.create({
      id: 'TC-101',
      kind: 'terminal',
      model: 'TC-200',
      site: 'acme-hamburg',
      firmware: '1.1',
      labels: { zone: 'south' },
    });
    inv.devices.create({
      id: 'CP-7',
      kind: 'charger',
      model: 'Wallbox',
      site: 'volt-lyon',
      gateway: 'AG-1',
      lifecycle: 'retired',
    });
    inv.devices.create({ id: 'PC-9', kind: 'pc', labels: { zone: 'north' } });
    inv.directory.reportStatus('TC-100', 'offline', 1000);
    const ids = (opts: Omit<DeviceListOptions, 'limit'>) =>
      inv.devices.list({ limit: 100, ...opts }).items.map((d) => d.id);

    expect(ids({ kind: 'terminal' })).toEqual(['TC-100', 'TC-101']);
    expect(ids({ kind: 'terminal', state: 'offline' })).toEqual(['TC-100']);
    expect(ids({ state: 'unknown' })).toEqual(['CP-7', 'PC-9', 'TC-101']);
    expect(ids({ model: 'Wallbox' })).toEqual(['CP-7']);
    expect(ids({ customer: 'acme' })).toEqual(['TC-100', 'TC-101']);
    expect(ids({ site: 'acme-hamburg' })).toEqual(['TC-101']);
    expect(ids({ firmware: '1.0' })).toEqual(['TC-100']);
    expect(ids({ lifecycle: 'retired' })).toEqual(['CP-7']);
    expect(ids({ gateway: 'AG-1' })).toEqual(['CP-7']);
    expect(ids({ labels: { zone: 'north' } })).toEqual(['PC-9', 'TC-100']);
    expect(ids({ labels: { zone: 'north', floor: '1' } })).toEqual(['TC-100']);
    expect(ids({ q: 'tc-10' })).toEqual(['TC-100', 'TC-101']);
    expect(ids({ q: 'hamburg' })).toEqual(['TC-101']);
    expect(ids({ q: 'VOLTAIC' })).toEqual(['CP-7']);
    expect(ids({ q: '9' })).toEqual(['PC-9']);
    expect(ids({ q: '%' })).toEqual([]);
    expect(ids({ q: 'say "hi"' })).toEqual([]);

    // renaming a site or a customer is seen by the search at once
    inv.sites.update('acme-hamburg', { name: 'Bremen Lager' });
    expect(ids({ q: 'bremen' })).toEqual(['TC-101']);
    expect(ids({ q: 'hamburg' })).toEqual([]);
    inv.customers.update('volt', { company: 'Ampere SA' });
    expect(ids({ q: 'ampere' })).toEqual(['CP-7']);
    inv.devices.update('PC-9', { site: 'acme-berlin' });
    expect(ids({ q: 'berlin' })).toEqual(['PC-9', 'TC-100']);
  });

  it('finds the same devices for q whether it lists matches from the index or scans (over 1,000 matches)', () => {
    const inv = t.inventory;
    const sites = ['acme-berlin', 'acme-hamburg', 'volt-lyon', null];
    const siteName: Record<string, string> = {
      'acme-berlin': 'Berlin Mitte',
      'acme-hamburg': 'Hamburg Hafen',
      'volt-lyon': 'Lyon Part-Dieu',
    };
    const customerName: Record<string, string> = { acme: 'Acme Retail', volt: 'Voltaic Charging' };
    inv.devices.importDevices(
      Array.from({ length: 1500 }, (_, i) => ({
        row: i + 1,
        device: { id: `TC-${String(i).padStart(5, '0')}`, kind: 'terminal', site: sites[i % 4] },
      })),
      'create',
    );
    const all = inv.devices.all();
    for (const q of ['tc-', 'TC-0001', '1', 'zz', 'berlin', 'RETAIL', 'c-01', 'Part-Dieu']) {
      for (const desc of [false, true]) {
        const needle = q.toLowerCase();
        const expected = all
          .filter((d) =>
            [d.id, siteName[d.site ?? ''] ?? '', customerName[d.customer ?? ''] ?? ''].some((h) =>
              h.toLowerCase().includes(needle),
            ),
          )
          .map((d) => d.id)
          .sort();
        if (desc) expected.reverse();
        const walked: string[] = [];
        let after: DeviceListOptions['after'];
        for (let guard = 0; guard < 100; guard++) {
          const page = inv.devices.list({ q, limit: 100, sort: { field: 'id', desc }, after });
          walked.push(...page.items.map((d) => d.id));
          if (!page.more) break;
          after = { value: page.items.at(-1)!.id, id: page.items.at(-1)!.id };
        }
        expect(walked, `q=${q}${desc ? ' desc' : ''}`).toEqual(expected);
      }
    }
  });

  it('searches text with LIKE and FTS metacharacters literally, on every page, in any order', () => {
    const inv = t.inventory;
    inv.customers.create({ id: 'odd', company: `O'Brien "Quoted" 100% _Retail_ \\ Ltd` });
    inv.sites.create({ id: 'odd-1', customer: 'odd', name: '50%_off* AND NEAR(x) ^store', timezone: 'Europe/Berlin' });
    inv.sites.create({ id: 'odd-2', customer: 'odd', name: 'plain store', timezone: 'Europe/Berlin' });
    const sites = ['odd-1', 'odd-2', 'acme-berlin', null];
    for (let i = 0; i < 40; i++) {
      const id = `X${i % 2 ? '_' : '-'}${String(i).padStart(2, '0')}`;
      inv.devices.create({ id, kind: 'terminal', site: sites[i % 4] });
      if (i % 3) inv.directory.reportStatus(id, 'online', 1000 + (i % 5));
    }
    const haystacks = (d: Device) => [
      d.id,
      inv.sites.get(d.site ?? '')?.name ?? '',
      inv.customers.get(d.customer ?? '')?.company ?? '',
    ];
    const all = inv.devices.all();
    const queries = [
      '%',
      '_',
      'x_',
      'X_0',
      '%_',
      "'",
      '"',
      `o'b`,
      '"quoted"',
      '\\',
      '50%',
      '0%_o',
      '*',
      'and near(x)',
      '^s',
      'e s',
      'zz',
      'x-1',
    ];
    for (const q of queries) {
      for (const sort of [
        { field: 'id', desc: false },
        { field: 'last_seen', desc: true },
      ] as const) {
        const expected = sortDevices(
          all.filter((d) => haystacks(d).some((h) => h.toLowerCase().includes(q.toLowerCase()))),
          sort.field,
          sort.desc,
        ).map((d) => d.id);
        const walked: string[] = [];
        let after: DeviceListOptions['after'];
        for (let guard = 0; guard < 100; guard++) {
          const page = inv.devices.list({ q, limit: 3, sort, after });
          walked.push(...page.items.map((d) => d.id));
          if (!page.more) break;
          const last = page.items.at(-1)!;
          after = { value: last[sort.field], id: last.id };
        }
        expect(walked, `q=${q} sort=${sort.desc ? '-' : ''}${sort.field}`).toEqual(expected);
      }
    }
    expect(inv.devices.list({ q: '%', limit: 100 }).items.length).toBe(20); // only the odd-1 devices and the company's
  });

  it('walks every sort order page by page without gaps or repeats, nulls included', () => {
    const inv = t.inventory;
    const sites = ['acme-berlin', 'acme-hamburg', 'volt-lyon', null];
    for (let i = 0; i < 60; i++) {
      inv.devices.create({
        id: `D-${String(i).padStart(3, '0')}`,
        kind: ['terminal', 'pc', 'charger'][i % 3],
        model: i % 4 === 0 ? null : `M${i % 5}`,
        site: sites[i % 4],
        firmware: i % 7 === 0 ? null : `1.${i % 3}`,
        installed_on: i % 2 ? `2024-0${(i % 9) + 1}-01` : null,
      });
      if (i % 3)
        inv.directory.reportStatus(`D-${String(i).padStart(3, '0')}`, i % 2 ? 'online' : 'offline', 1000 + (i % 10));
    }
    for (const field of DEVICE_SORT_FIELDS) {
      for (const desc of [false, true]) {
        const expected = sortDevices(inv.devices.all(), field, desc).map((d) => d.id);
        const walked: string[] = [];
        let after: DeviceListOptions['after'];
        for (let guard = 0; guard < 100; guard++) {
          const page = inv.devices.list({ limit: 7, sort: { field, desc }, after });
          walked.push(...page.items.map((d) => d.id));
          if (!page.more) break;
          const last = page.items.at(-1)!;
          after = { value: last[field as keyof Device] as string | number | null, id: last.id };
        }
        expect(walked, `${desc ? '-' : ''}${field}`).toEqual(expected);
      }
    }
  });

  it('answers the list filters from indexes, not table scans', () => {
    const plan = (sql: string, ...values: unknown[]) =>
      (t.inventory.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...values) as { detail: string }[])
        .map((r) => r.detail)
        .join('; ');
    expect(
      plan(`SELECT * FROM devices d WHERE d.kind = ? AND d.state = ? ORDER BY d.id LIMIT 101`, 'terminal', 'offline'),
    ).toMatch(/USING INDEX devices_kind_state/);
    expect(plan(`SELECT * FROM devices d WHERE d.customer_id = ? ORDER BY d.id LIMIT 101`, 'acme')).toMatch(
      /USING INDEX devices_customer/,
    );
  });

  it('deletes a device with its credentials and labels', () => {
    t.inventory.devices.create({ id: 'TC-1', kind: 'terminal', labels: { a: 'b' } });
    t.inventory.credentials.issue('TC-1', 'agent_token');
    t.inventory.devices.delete('TC-1');
    expect(t.inventory.devices.get('TC-1')).toBeUndefined();
    expect(t.inventory.directory.lookup('TC-1')).toBeUndefined();
    expect(t.inventory.db.prepare('SELECT count(*) AS n FROM credentials').get()).toEqual({ n: 0 });
    expect(t.inventory.db.prepare('SELECT count(*) AS n FROM device_labels').get()).toEqual({ n: 0 });
  });
});

describe('bulk import', () => {
  it('reports every bad row and writes nothing when one is bad', () => {
    const inv = t.inventory;
    inv.devices.create({ id: 'OLD-1', kind: 'terminal' });
    const result = inv.devices.importDevices(
      [
        { row: 1, device: { id: 'N-1', kind: 'terminal', site: 'acme-berlin' } },
        { row: 2, device: { id: 'N-2', kind: 'terminal', site: 'nowhere' } },
        { row: 3, device: { id: 'N-1', kind: 'terminal' } },
        { row: 4, device: { id: 'OLD-1', kind: 'terminal' } },
        { row: 5, device: { id: 'N-5', kind: 'pc', customer: 'volt', site: 'acme-berlin' } },
        { row: 6, device: { id: 'N-6', kind: 'pc', customer: 'ghost' } },
      ],
      'create',
    );
    expect(result).toEqual({
      ok: false,
      errors: [
        { row: 2, field: 'site', message: "site 'nowhere' does not exist" },
        { row: 3, field: 'id', message: "device 'N-1' appears again (first in row 1)" },
        { row: 4, field: 'id', message: "device 'OLD-1' already exists" },
        { row: 5, field: 'site', message: "site 'acme-berlin' belongs to customer 'acme', not 'volt'" },
        { row: 6, field: 'customer', message: "customer 'ghost' does not exist" },
      ],
    });
    expect(inv.devices.count()).toBe(1);
    expect(inv.directory.lookup('N-1')).toBeUndefined();
  });

  it('creates 10,000 devices in one transaction, and upserts', () => {
    const inv = t.inventory;
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      row: i + 1,
      device: {
        id: `TC-${i}`,
        kind: 'terminal',
        site: i % 2 ? 'acme-berlin' : 'volt-lyon',
        labels: { batch: String(i % 10) },
      },
    }));
    // One transaction: every row is written with autocommit off (its speed is bench/devices-api.ts's).
    const inserts = { inTransaction: 0, autocommitted: 0 };
    inv.db.function('note_autocommit', () =>
      inv.db.inTransaction ? inserts.inTransaction++ : inserts.autocommitted++,
    );
    inv.db.exec('CREATE TEMP TRIGGER note_insert AFTER INSERT ON devices BEGIN SELECT note_autocommit(); END');
    expect(inv.devices.importDevices(rows, 'create')).toEqual({ ok: true, created: 10_000, updated: 0 });
    inv.db.exec('DROP TRIGGER note_insert');
    expect(inserts).toEqual({ inTransaction: 10_000, autocommitted: 0 });
    expect(inv.devices.list({ limit: 500, labels: { batch: '3' } }).items).toHaveLength(500);
    expect(inv.directory.lookup('TC-9999')).toMatchObject({ customer: 'acme', labels: { batch: '9' } });

    const upsert = inv.devices.importDevices(
      [
        { row: 1, device: { id: 'TC-1', kind: 'terminal', firmware: '9.9' } },
        { row: 2, device: { id: 'NEW-1', kind: 'pc' } },
        { row: 3, device: { id: 'TC-2', kind: 'terminal', site: 'acme-hamburg' } },
      ],
      'upsert',
    );
    expect(upsert).toEqual({ ok: true, created: 1, updated: 2 });
    expect(inv.devices.get('TC-1')).toMatchObject({ firmware: '9.9', site: 'acme-berlin', labels: { batch: '1' } });
    expect(inv.devices.get('TC-2')).toMatchObject({ site: 'acme-hamburg', customer: 'acme' });
    expect(inv.devices.importDevices([{ row: 1, device: { id: 'TC-1', kind: 'pc' } }], 'upsert')).toMatchObject({
      ok: false,
      errors: [{ row: 1, field: 'kind' }],
    });
  });
});

describe('customers and sites', () => {
  it('refuses to delete a customer that still has devices, and deletes nothing', () => {
    const inv = t.inventory;
    inv.devices.create({ id: 'TC-1', kind: 'terminal', site: 'acme-berlin' });
    const err = catchError(() => inv.customers.delete('acme'));
    expect(err).toMatchObject({ reason: 'conflict', details: { customer: 'acme', devices: 1, examples: ['TC-1'] } });
    expect(inv.customers.get('acme')).toBeDefined();
    expect(inv.sites.list({ customer: 'acme', limit: 10 }).items).toHaveLength(2);
    expect(catchError(() => inv.sites.delete('acme-berlin'))).toMatchObject({ reason: 'conflict' });

    inv.devices.delete('TC-1');
    inv.customers.delete('acme');
    expect(inv.customers.get('acme')).toBeUndefined();
    expect(inv.sites.list({ customer: 'acme', limit: 10 }).items).toHaveLength(0);
  });

  it('makes readable unique ids and checks time zones', () => {
    const inv = t.inventory;
    expect(inv.customers.create({ company: 'Café Nord #12' }).id).toBe('cafe-nord-12');
    expect(inv.customers.create({ company: 'Café Nord 12' }).id).toBe('cafe-nord-12-2');
    expect(inv.sites.create({ customer: 'cafe-nord-12', name: 'Store 1' })).toMatchObject({
      id: 'cafe-nord-12-store-1',
      timezone: 'UTC',
    });
    expect(catchError(() => inv.sites.create({ customer: 'acme', name: 'X', timezone: 'Mars/Olympus' }))).toMatchObject(
      { field: 'timezone' },
    );
    expect(catchError(() => inv.customers.create({ id: 'acme', company: 'Again' }))).toMatchObject({
      reason: 'conflict',
      field: 'id',
    });
  });
});

function sortDevices(devices: Device[], field: DeviceSortField, desc: boolean): Device[] {
  const cmp = (a: unknown, b: unknown): number => {
    if (a === b) return 0;
    if (a === null) return -1;
    if (b === null) return 1;
    return (a as string | number) < (b as string | number) ? -1 : 1;
  };
  const sorted = [...devices].sort(
    (a, b) => cmp(a[field as keyof Device], b[field as keyof Device]) || cmp(a.id, b.id),
  );
  return desc ? sorted.reverse() : sorted;
}
