import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempInventory } from '../inventory/testing.ts';
import { Backups, INVENTORY_FILE } from './backups.ts';

let t: ReturnType<typeof tempInventory>;
let now: number;
let results: string[];

beforeEach(() => {
  t = tempInventory();
  now = Date.UTC(2026, 11, 1, 3, 30);
  results = [];
});
afterEach(() => t.cleanup());

const backups = (influx: () => Promise<{ skipped: string } | { rpc: string; database: string }>) =>
  new Backups({
    dir: path.join(t.dir, 'backups'),
    keep: 2,
    inventory: t.inventory.db,
    influx,
    log: pino({ level: 'silent' }),
    clock: { now: () => now },
    onResult: (r) => results.push(r),
  });

describe('backups', () => {
  it('writes whole generations, lists them newest first and keeps backup.keep of them', async () => {
    const b = backups(async () => ({ skipped: 'InfluxDB 2.x' }));
    t.inventory.devices.create({ id: 'TC-1', kind: 'terminal' });
    const names: string[] = [];
    for (let day = 0; day < 3; day++, now += 86_400_000) names.push((await b.take()).name);
    expect(names[0]).toBe('fleetpulse-20261201T033000Z');
    expect(b.list().map((g) => g.name)).toEqual([names[2], names[1]]);
    expect(b.list()[0].influx).toEqual({ skipped: 'InfluxDB 2.x' });
    const copy = new BetterSqlite3(path.join(b.list()[0].path, INVENTORY_FILE), { readonly: true });
    expect(copy.prepare('SELECT id FROM devices').pluck().all()).toEqual(['TC-1']);
    copy.close();
    expect(results).toEqual(['ok', 'ok', 'ok']);
  });

  it('leaves no generation behind when a part fails, and counts the failure', async () => {
    const b = backups(async () => ({ rpc: '127.0.0.1:1', database: 'fleetpulse' }));
    await expect(b.take()).rejects.toThrow(/cannot reach InfluxDB.s RPC bind-address 127.0.0.1:1/);
    expect(readdirSync(path.join(t.dir, 'backups'))).toEqual([]);
    expect(results).toEqual(['failed']);
  });

  it('does not list an unfinished folder (a crash mid-backup)', async () => {
    mkdirSync(path.join(t.dir, 'backups', 'fleetpulse-20261130T033000Z.partial'), { recursive: true });
    expect(backups(async () => ({ skipped: 'x' })).list()).toEqual([]);
    expect(existsSync(path.join(t.dir, 'backups'))).toBe(true);
  });
});
