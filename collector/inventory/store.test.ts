import { readFileSync, statSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from './migrations.ts';
import { openInventory } from './store.ts';
import { seedOwners, tempInventory } from './testing.ts';

let t: ReturnType<typeof tempInventory>;
afterEach(() => t?.cleanup());

describe('openInventory', () => {
  it('applies every numbered migration once, in WAL mode', () => {
    t = tempInventory();
    const rows = t.inventory.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as {
      version: number;
    }[];
    expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    expect(t.inventory.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(t.inventory.db.pragma('foreign_keys', { simple: true })).toBe(1);
    const again = t.reopen();
    expect(again.schemaVersion).toBe(migrations.at(-1)!.version);
    expect((again.db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(
      migrations.length,
    );
  });

  it('refuses a database written by a newer version, and leaves it alone', () => {
    t = tempInventory();
    t.inventory.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, ?, 0)').run('future');
    t.inventory.close();
    expect(() => openInventory({ path: t.file, env: {} })).toThrow(
      /schema is version 99, newer than this fleetpulse knows/,
    );
    const raw = new BetterSqlite3(t.file);
    expect((raw.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(99);
    raw.close();
  });

  it('keeps everything across close and reopen: it is a file, not memory', async () => {
    t = tempInventory();
    const inv = t.inventory;
    seedOwners(inv);
    inv.devices.create({ id: 'TC-0001', kind: 'terminal', site: 'acme-berlin', labels: { zone: 'a' } });
    const token = inv.credentials.issue('TC-0001', 'agent_token');
    const hmac = inv.credentials.issue('TC-0001', 'pos_hmac');
    const key = inv.apiKeys.create({ name: 'ops', role: 'admin' });
    inv.audit.record({
      actor: key.id,
      actor_name: 'ops',
      role: 'admin',
      action: 'devices.create',
      target: 'TC-0001',
      method: 'POST',
      path: '/api/v1/devices',
      status: 201,
      result: 'ok',
      source: '127.0.0.1',
    });
    inv.directory.reportStatus('TC-0001', 'online', 1_700_000_000_000);

    const back = t.reopen();
    expect(back.customers.get('acme')?.company).toBe('Acme Retail');
    expect(back.sites.get('acme-berlin')?.timezone).toBe('Europe/Berlin');
    expect(back.devices.get('TC-0001')).toMatchObject({
      customer: 'acme',
      labels: { zone: 'a' },
      state: 'online',
      last_seen: 1_700_000_000_000,
    });
    expect(back.directory.lookup('TC-0001')).toMatchObject({ kind: 'terminal', customer: 'acme', site: 'acme-berlin' });
    expect(await back.directory.authenticate('TC-0001', { type: 'agent_token', secret: token.secret })).toMatchObject({
      ok: true,
    });
    const seen: string[] = [];
    await back.directory.authenticate('TC-0001', { type: 'pos_hmac', verify: (s) => (seen.push(s.toString()), true) });
    expect(seen).toEqual([hmac.secret]);
    expect(back.apiKeys.verify(key.key)?.name).toBe('ops');
    expect(back.audit.list({ limit: 10 }).items[0]).toMatchObject({ action: 'devices.create', target: 'TC-0001' });
  });

  it('keeps HMAC secrets sealed under a key file beside the database, mode 0600', () => {
    t = tempInventory();
    const issued = t.inventory.credentials.issue(seedDevice(t), 'pos_hmac');
    const keyFile = `${t.file}.key`;
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(t.inventory.secretKeySource).toBe('file');
    t.inventory.close();
    for (const f of [t.file, `${t.file}-wal`]) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(f);
      } catch {
        continue;
      }
      expect(bytes.includes(Buffer.from(issued.secret))).toBe(false);
    }
    t.reopen();
  });

  it('fails at open when FLEETPULSE_SECRET_KEY is not the key that sealed the secrets', () => {
    const keyA = Buffer.alloc(32, 1).toString('base64');
    const keyB = Buffer.alloc(32, 2).toString('hex');
    t = tempInventory({ env: { FLEETPULSE_SECRET_KEY: keyA } });
    t.inventory.credentials.issue(seedDevice(t), 'pos_hmac');
    expect(t.inventory.secretKeySource).toBe('env');
    t.inventory.close();
    expect(() => openInventory({ path: t.file, env: { FLEETPULSE_SECRET_KEY: keyB } })).toThrow(
      /not the key that sealed/,
    );
    expect(() => openInventory({ path: t.file, env: { FLEETPULSE_SECRET_KEY: 'short' } })).toThrow(/must be 32 bytes/);
    t.reopen({ env: { FLEETPULSE_SECRET_KEY: keyA } });
  });
});

function seedDevice(fixture: ReturnType<typeof tempInventory>): string {
  fixture.inventory.devices.create({ id: 'POS-1', kind: 'pos' });
  return 'POS-1';
}
