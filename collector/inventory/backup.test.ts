import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { backupDatabase } from './backup.ts';
import { openInventory } from './store.ts';
import { tempInventory } from './testing.ts';

let t: ReturnType<typeof tempInventory>;
afterEach(() => t.cleanup());

describe('backup', () => {
  it('takes a consistent copy while the same process keeps writing', async () => {
    t = tempInventory();
    const inv = t.inventory;
    // Every transaction writes a customer and its site: a torn copy would show a customer alone.
    const pair = (i: number) =>
      inv.db.transaction(() => {
        inv.customers.create({ id: `c${i}`, company: `Customer ${i}`.padEnd(400, '.') });
        inv.sites.create({ id: `s${i}`, customer: `c${i}`, name: 'Store' });
      })();
    for (let i = 0; i < 3000; i++) pair(i);

    let written = 3000;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        pair(written++);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const copies = await Promise.all([
      inv.backup(path.join(t.dir, 'a.db')),
      new Promise((r) => setTimeout(r, 20)).then(() => inv.backup(path.join(t.dir, 'b.db'))),
    ]);
    writing = false;
    await writer;
    expect(copies).toHaveLength(2);
    expect(written).toBeGreaterThan(3000);

    for (const name of ['a.db', 'b.db']) {
      const copy = new BetterSqlite3(path.join(t.dir, name), { readonly: true });
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const { customers, sites } = copy
        .prepare('SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM sites) AS sites')
        .get() as { customers: number; sites: number };
      expect(customers).toBeGreaterThanOrEqual(3000);
      expect(sites).toBe(customers);
      copy.close();
    }
    // a copy is a working inventory
    const restored = openInventory({ path: path.join(t.dir, 'a.db'), env: {} });
    expect(restored.customers.get('c0')).toBeDefined();
    restored.close();
  });

  it('copies from a path with a read-only connection, also when nothing else has it open', async () => {
    t = tempInventory();
    t.inventory.customers.create({ id: 'acme', company: 'Acme' });
    t.inventory.close();
    const target = path.join(t.dir, 'copy.db');
    const { pages } = await backupDatabase(t.file, target);
    expect(pages).toBeGreaterThan(0);
    const copy = new BetterSqlite3(target, { readonly: true });
    expect(copy.prepare('SELECT company FROM customers').get()).toEqual({ company: 'Acme' });
    copy.close();
    await expect(backupDatabase(path.join(t.dir, 'missing.db'), target)).rejects.toThrow();
    t.reopen();
  });
});
