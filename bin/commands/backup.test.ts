import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openInventory } from '../../collector/inventory/index.ts';
import { tempDir } from '../../collector/inventory/testing.ts';
import backup from './backup.ts';
import type { Io } from '../args.ts';

let dir: ReturnType<typeof tempDir>;
let db: string;
let out: string[];
let err: string[];
const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t) };

beforeEach(() => {
  dir = tempDir('fleetpulse-backup-');
  db = path.join(dir.dir, 'fleetpulse.db');
  out = [];
  err = [];
});
afterEach(() => dir.cleanup());

/**
 * Another process writing to the inventory the way serve does (WAL, short transactions), as
 * fast as it can: each transaction adds a customer and its site, so a torn copy would show.
 */
const WRITER = `
import Database from 'better-sqlite3';
const db = new Database(process.argv[1]);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
const c = db.prepare("INSERT INTO customers (id, company, contract, created_at, updated_at) VALUES (?, ?, 'basic', 0, 0)");
const s = db.prepare("INSERT INTO sites (id, customer_id, name, timezone, created_at, updated_at) VALUES (?, ?, 'Store', 'UTC', 0, 0)");
const pair = db.transaction((i) => { c.run('w' + i, ('Writer ' + i).padEnd(300, '.')); s.run('ws' + i, 'w' + i); });
let i = 0;
let stop = false;
process.on('SIGTERM', () => { stop = true; });
const loop = () => {
  for (let k = 0; k < 50; k++) pair(i++);
  if (i === 50) process.stdout.write('ready\\n');
  if (stop) { process.stdout.write('wrote ' + i + '\\n'); db.close(); process.exit(0); }
  setImmediate(loop);
};
loop();
`;

function counts(file: string): { customers: number; sites: number; integrity: unknown } {
  const copy = new BetterSqlite3(file, { readonly: true });
  try {
    const row = copy
      .prepare('SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM sites) AS sites')
      .get() as { customers: number; sites: number };
    return { ...row, integrity: copy.pragma('integrity_check', { simple: true }) };
  } finally {
    copy.close();
  }
}

describe('fleetpulse backup', () => {
  it('takes consistent copies while another process keeps writing', async () => {
    const inv = openInventory({ path: db, env: {} });
    inv.devices.create({ id: 'TC-1', kind: 'terminal' });
    inv.close();

    const writer = spawn(process.execPath, ['--input-type=module', '-e', WRITER, db], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    writer.stdout.on('data', (chunk) => (output += chunk));
    await new Promise<void>((resolve, reject) => {
      writer.stdout.on('data', () => output.includes('ready') && resolve());
      writer.on('exit', (code) => reject(new Error(`writer exited early (${code}): ${output}`)));
    });

    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 150));
      const file = path.join(dir.dir, `copy-${i}.db`);
      expect(await backup([file, '--db', db], io)).toBe(0);
      const c = counts(file);
      expect(c.integrity).toBe('ok');
      expect(c.sites).toBe(c.customers);
      seen.push(c.customers);
    }
    writer.kill('SIGTERM');
    await new Promise((resolve) => writer.on('exit', resolve));
    const wrote = Number(/wrote (\d+)/.exec(output)?.[1]);

    // the writer kept going the whole time, and each copy is a later snapshot than the one before
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[1]).toBeGreaterThan(seen[0]);
    expect(seen[2]).toBeGreaterThan(seen[1]);
    expect(wrote).toBeGreaterThan(seen[2]);
    expect(out[0]).toMatch(/^backed up .* to .*copy-0\.db: \d+ pages, [\d.]+ MiB, \d+ ms$/);

    const restored = openInventory({ path: path.join(dir.dir, 'copy-2.db'), env: {} });
    expect(restored.devices.get('TC-1')).toBeDefined();
    restored.close();
  });

  it('will not overwrite a file without --force, and names the key file it leaves out', async () => {
    const inv = openInventory({ path: db, env: {} });
    inv.devices.create({ id: 'POS-1', kind: 'pos' });
    inv.credentials.issue('POS-1', 'pos_hmac');
    inv.close();
    const target = path.join(dir.dir, 'exists.db');
    writeFileSync(target, 'precious');
    expect(await backup([target, '--db', db], io)).toBe(1);
    expect(err.at(-1)).toMatch(/exists; pass --force/);
    expect(await backup([target, '--db', db, '--force'], io)).toBe(0);
    expect(err.at(-1)).toMatch(/fleetpulse\.db\.key .* is not in the backup/);
    expect(existsSync(`${target}.key`)).toBe(false);

    expect(await backup([path.join(dir.dir, 'x.db'), '--db', path.join(dir.dir, 'none.db')], io)).toBe(1);
    expect(await backup([], io)).toBe(2);
    expect(await backup([path.join(dir.dir, 'no-such-dir', 'x.db'), '--db', db], io)).toBe(1);
  });
});
