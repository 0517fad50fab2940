import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openInventory } from '../../collector/inventory/index.ts';
import { tempDir } from '../../collector/inventory/testing.ts';
import type { Io } from '../args.ts';
import keys, { defaultInventoryPath } from './keys.ts';

let dir: ReturnType<typeof tempDir>;
let db: string;
let out: string[];
let err: string[];
const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t) };

beforeEach(() => {
  dir = tempDir('fleetpulse-keys-');
  db = path.join(dir.dir, 'data', 'fleetpulse.db');
  out = [];
  err = [];
});
afterEach(() => dir.cleanup());

describe('fleetpulse keys', () => {
  it('creates a key, printing it once on stdout, and the inventory knows it', async () => {
    expect(await keys(['create', '--role', 'admin', '--name', 'ops', '--db', db], io)).toBe(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^fpk_[a-z2-7]{8}_[A-Za-z0-9_-]{43}$/);
    expect(err.join('\n')).toMatch(/created a new inventory/);
    expect(err.join('\n')).toMatch(/created admin key [a-z2-7]{8} 'ops'. It is shown only now/);
    const inv = openInventory({ path: db, env: {} });
    expect(inv.apiKeys.verify(out[0])).toMatchObject({ name: 'ops', role: 'admin', created_by: 'cli' });
    inv.close();
  });

  it('lists keys without the keys, and revokes one', async () => {
    await keys(['create', '--role', 'viewer', '--name', 'grafana', '--db', db], io);
    const key = out[0];
    const id = key.slice(4, 12);
    out = [];
    expect(await keys(['list', '--db', db], io)).toBe(0);
    expect(out[0]).toMatch(/^ID\s+NAME\s+ROLE\s+CREATED\s+LAST USED\s+STATE/);
    expect(out[0]).toContain(`${id}  grafana  viewer`);
    expect(out[0]).not.toContain(key);
    out = [];
    expect(await keys(['list', '--json', '--db', db], io)).toBe(0);
    expect(JSON.parse(out[0])).toEqual([
      expect.objectContaining({ id, name: 'grafana', role: 'viewer', revoked_at: null }),
    ]);

    expect(await keys(['revoke', id, '--db', db], io)).toBe(0);
    expect(err.at(-1)).toBe(`revoked viewer key ${id} 'grafana'`);
    const inv = openInventory({ path: db, env: {} });
    expect(inv.apiKeys.verify(key)).toBeNull();
    inv.close();
    expect(await keys(['revoke', id, '--db', db], io)).toBe(0);
    expect(err.at(-1)).toMatch(/already revoked/);
    expect(await keys(['revoke', 'zzzzzzzz', '--db', db], io)).toBe(1);
  });

  it('refuses bad usage with exit code 2 and a message', async () => {
    expect(await keys(['create', '--role', 'root', '--name', 'x', '--db', db], io)).toBe(2);
    expect(err.at(-1)).toMatch(/--role must be one of viewer, support, operator, admin/);
    expect(await keys(['create', '--role', 'admin', '--db', db], io)).toBe(2);
    expect(err.at(-1)).toMatch(/--name is required/);
    expect(await keys(['rotate', '--db', db], io)).toBe(2);
    expect(await keys([], io)).toBe(2);
    expect(await keys(['list', '--db', db], io)).toBe(1);
    expect(err.at(-1)).toMatch(/no inventory at/);
  });

  it('finds the inventory where serve keeps it: inventory.path, else <data_dir>/fleetpulse.db', async () => {
    const config = path.join(dir.dir, 'fleetpulse.yaml');
    writeFileSync(config, `data_dir: ${path.join(dir.dir, 'data')}\n`);
    expect(await keys(['create', '--role', 'operator', '--name', 'noc', '--config', config], io)).toBe(0);
    const inv = openInventory({ path: db, env: {} });
    expect(inv.apiKeys.list().map((k) => k.name)).toEqual(['noc']);
    inv.close();

    const elsewhere = path.join(dir.dir, 'elsewhere.db');
    expect(defaultInventoryPath(config, { FLEETPULSE_INVENTORY__PATH: elsewhere })).toBe(elsewhere);
    expect(defaultInventoryPath(undefined, {})).toBe(path.join('data', 'fleetpulse.db'));
    writeFileSync(config, 'colour: red\n');
    expect(await keys(['list', '--config', config], io)).toBe(2);
    expect(err.at(-1)).toMatch(/invalid configuration: colour: unknown option/);
  });
});
