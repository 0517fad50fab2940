/**
 * Backups end to end, with real processes: a serve with its embedded influxd backs up its
 * inventory and a day of points (`POST /api/v1/backups`), the data dir is destroyed,
 * `fleetpulse restore` brings it back into an empty one, and a new serve on it has the devices,
 * the sealed POS credential (with the key file kept apart), the queued command and every point.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedInfluxdUrl } from '../collector/pipeline/local-influxd.ts';
import { postEvents } from '../plugins/pos/testing.ts';
import { REPO_ROOT, startServe, writeConfig, type ServeProcess } from './helpers/serve-process.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-backup-restore-'));
const dataDir = path.join(dir, 'data');
const backupDir = path.join(dir, 'backups');
const KEY = 'test-admin-key-6f1e2d3c4b5a69788796a5b4';
const CONFIG = {
  data_dir: dataDir,
  http: { host: '127.0.0.1', port: 0 },
  log: { level: 'info' },
  pipeline: { flush_interval_ms: 100 },
  backup: { schedule: 'off', dir: backupDir, keep: 2 },
};
let serve: ServeProcess | undefined;

afterAll(async () => {
  await serve?.stop(); // SIGTERM: serve stops its embedded influxd before the dir goes
  rmSync(dir, { recursive: true, force: true });
});

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${serve!.url}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/fleetpulse.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve({ code, output }))));
}

async function influxCount(): Promise<number> {
  const url = await embeddedInfluxdUrl(path.join(dataDir, 'influxdb'));
  const q = encodeURIComponent('SELECT count("uptime_pct") FROM "pos_probe"');
  const res = await (await fetch(`${url}/query?db=fleetpulse&q=${q}`)).json();
  return res.results[0].series?.[0].values[0][1] ?? 0;
}

const MINUTES = 24 * 60;

describe('backup and restore', () => {
  it('brings back devices, sealed credentials, commands and a day of points into an empty data dir', async () => {
    serve = await startServe({ dir, env: { FLEETPULSE_ADMIN_KEY: KEY }, config: CONFIG });
    expect((await api('POST', '/devices', { id: 'bo-1', kind: 'pos' })).status).toBe(201);
    expect((await api('POST', '/devices', { id: 'pos-1', kind: 'pos', gateway: 'bo-1' })).status).toBe(201);
    expect((await api('POST', '/devices', { id: 'CP-1', kind: 'charger' })).status).toBe(201);
    const issued = await api('POST', '/devices/bo-1/credentials', { type: 'pos_hmac' });
    expect(issued.status).toBe(201);
    const secret = issued.json.secret as string;
    const command = await api('POST', '/commands', { device: 'CP-1', name: 'reset', params: { type: 'soft' } });
    expect(command.status).toBe(201);

    // A day of minutely points, written straight into the embedded influxd.
    const url = await embeddedInfluxdUrl(path.join(dataDir, 'influxdb'));
    const now = Date.now();
    const lines = Array.from(
      { length: MINUTES },
      (_, i) => `pos_probe,device=pos-1 uptime_pct=${i % 100} ${now - (i + 1) * 60_000}`,
    );
    const write = await fetch(`${url}/write?db=fleetpulse&precision=ms`, { method: 'POST', body: lines.join('\n') });
    expect(write.status).toBe(204);
    expect(await influxCount()).toBe(MINUTES);

    const taken = await api('POST', '/backups');
    expect(taken.status).toBe(201);
    expect(taken.json.influx).toBe('included');
    const list = await api('GET', '/backups');
    expect(list.json.items.map((b: { name: string }) => b.name)).toEqual([taken.json.name]);

    expect((await serve.stop()).code).toBe(0);
    serve = undefined;
    // The key that seals HMAC secrets is kept apart from the backups, as docs/operations.md says.
    const keptKey = path.join(dir, 'kept.key');
    copyFileSync(path.join(dataDir, 'fleetpulse.db.key'), keptKey);
    rmSync(dataDir, { recursive: true, force: true });

    const configFile = writeConfig(dir, CONFIG);
    const restored = await cli([
      'restore',
      path.join(backupDir, taken.json.name),
      '--config',
      configFile,
      '--key-file',
      keptKey,
    ]);
    expect(restored.output).toContain('restored InfluxDB database fleetpulse');
    expect(restored.code).toBe(0);

    serve = await startServe({ dir, env: { FLEETPULSE_ADMIN_KEY: KEY }, config: CONFIG });
    const devices = await api('GET', '/devices?limit=10');
    expect(devices.json.items.map((d: { id: string }) => d.id).sort()).toEqual(['CP-1', 'bo-1', 'pos-1']);
    const commands = await api('GET', '/commands?device=CP-1');
    expect(commands.json.items.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      [command.json.ids[0], 'queued'],
    ]);
    expect(await influxCount()).toBe(MINUTES);
    // The restored secret still verifies signatures: the key file came back with it.
    const posted = await postEvents(serve.url, 'bo-1', secret, [
      {
        type: 'heartbeat',
        id: 'hb-1',
        device: 'pos-1',
        store: 'store-1',
        time: Date.now(),
        app_version: '1.0',
        printer: 'ok',
        network: 'wifi',
      },
    ]);
    expect(posted.body).toMatchObject({ accepted: 1 });
  }, 180_000);

  it('refuses to restore over a data dir that has an inventory, and a folder that is no backup', async () => {
    const target = path.join(dir, 'occupied');
    mkdirSync(target, { recursive: true });
    copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(target, 'fleetpulse.db'));
    const configFile = writeConfig(dir, { ...CONFIG, data_dir: target });
    const backups = (await cli(['restore', dir, '--config', configFile])).output;
    expect(backups).toContain('is not a Fleetpulse backup (no manifest.json)');
    const gen = path.join(dir, 'fleetpulse-20260101T000000Z');
    mkdirSync(gen);
    writeFileSync(
      path.join(gen, 'manifest.json'),
      JSON.stringify({ format: 1, at: 0, inventory: 'inventory.db', influx: { skipped: 'test' } }),
    );
    const over = await cli(['restore', gen, '--config', configFile]);
    expect(over.code).toBe(1);
    expect(over.output).toContain(`${path.join(target, 'fleetpulse.db')} exists: restore only into an empty data dir`);
    expect(existsSync(path.join(target, 'influxdb'))).toBe(false);
  }, 60_000);
});
