/**
 * `fleetpulse simulate --api-key` against a freshly started `fleetpulse serve` (real processes,
 * real influxd): the fleet is registered through the API, its points reach InfluxDB tagged with
 * the demo customer and sites, a second run reuses everything, and a wrong key is refused.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useInfluxd } from './helpers/influxd.ts';
import { REPO_ROOT, startServe, type ServeProcess } from './helpers/serve-process.ts';

const influx = useInfluxd();
const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-simulate-provision-'));
const KEY = 'test-admin-key-b3c1f0e9d8a7c6b5a4f3e2d1';
let serve: ServeProcess;
let db: string;

beforeAll(async () => {
  db = await influx.freshDatabase();
  serve = await startServe({
    dir,
    env: { FLEETPULSE_ADMIN_KEY: KEY },
    config: {
      data_dir: path.join(dir, 'data'),
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
      influx: { url: influx.url, database: db },
      pipeline: { flush_interval_ms: 100 },
      // No plugins section: agent (PCs), pos and ocpp run by default.
    },
  });
}, 40_000);

afterAll(async () => {
  await serve?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the real CLI to its end; killed after 30 s. */
function simulate(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bin/fleetpulse.ts', 'simulate', '--server', serve.url, ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, FLEETPULSE_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve({ code, output }))));
}

// 2 PCs, one POS store (back office + 3 devices), 2 chargers; quick intervals so a few seconds show data.
const FLEET = [
  '--pcs',
  '2',
  '--pos',
  '3',
  '--ocpp',
  '2',
  '--duration',
  '3',
  '--opt',
  'interval_s=1',
  '--opt',
  'flush_s=1',
  '--opt',
  'heartbeat_s=1',
  '--opt',
  'meter_interval_s=1',
];
const IDS = [
  'SIM-00001',
  'SIM-00002',
  'sim-pc-1',
  'sim-pc-2',
  'store-0001-bo',
  'store-0001-pos-1',
  'store-0001-pos-2',
  'store-0001-pos-3',
];
const SITES = ['demo-retail-berlin', 'demo-retail-hamburg', 'demo-retail-munich'];

async function api<T>(route: string, key = KEY): Promise<T> {
  const res = await fetch(`${serve.url}/api/v1${route}`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status, route).toBe(200);
  return (await res.json()) as T;
}

interface Device {
  id: string;
  kind: string;
  customer: string | null;
  site: string | null;
  gateway: string | null;
  lifecycle: string;
}

async function until(done: () => Promise<boolean>, what: string, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** customer/site tags of the device's points in InfluxDB (one entry per series). */
async function tagsOf(device: string): Promise<Array<Record<string, string>>> {
  const series = await influx.query(`SELECT * FROM /.*/ WHERE "device" = '${device}' GROUP BY * LIMIT 1`, { db });
  return series.map((s) => s.tags);
}

describe('simulate --api-key', () => {
  it('registers the fleet on a fresh serve; its points carry customer and site; a second run reuses it', async () => {
    const first = await simulate(['--api-key', KEY, ...FLEET]);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('registered 8 devices for Demo Retail GmbH (8 new, 0 reused), 5 credentials issued');
    expect(first.output).not.toMatch(/refused/);

    const customer = await api<{ company: string }>('/customers/demo-retail');
    expect(customer.company).toBe('Demo Retail GmbH');
    const sites = await api<{ items: Array<{ id: string; name: string; timezone: string }> }>(
      '/sites?customer=demo-retail',
    );
    expect(sites.items.map((s) => s.id).sort()).toEqual(SITES);
    expect(sites.items.every((s) => s.timezone === 'Europe/Berlin')).toBe(true);

    const { items } = await api<{ items: Device[] }>('/devices?customer=demo-retail&limit=100');
    expect(items.map((d) => d.id)).toEqual(IDS);
    expect(new Set(items.map((d) => d.lifecycle))).toEqual(new Set(['active']));
    for (const d of items) expect(SITES).toContain(d.site);
    const bo = items.find((d) => d.id === 'store-0001-bo')!;
    for (const pos of items.filter((d) => d.gateway === 'store-0001-bo')) expect(pos.site).toBe(bo.site);
    expect(items.filter((d) => d.gateway === 'store-0001-bo')).toHaveLength(3);

    // A PC (agent uplink), a POS device (signed webhook of its back office), a charger (OCPP).
    for (const device of ['sim-pc-1', 'store-0001-pos-1', 'SIM-00001']) {
      const site = items.find((d) => d.id === device)!.site;
      await until(
        async () => (await tagsOf(device)).some((t) => t.customer === 'demo-retail' && t.site === site),
        `${device}'s points with customer and site`,
      );
    }

    const second = await simulate(['--api-key', KEY, ...FLEET]);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain(
      'registered 8 devices for Demo Retail GmbH (0 new, 8 reused), 5 credentials issued',
    );
    expect(second.output).not.toMatch(/refused|failed/);
    // The rotated secrets work: the PCs' batches were acknowledged again.
    expect(second.output).toMatch(/pcs connected 2\/2 · points_acked \d+/);

    const again = await api<{ items: Device[] }>('/devices?customer=demo-retail&limit=100');
    expect(again.items.map((d) => d.id)).toEqual(IDS);
    expect((await api<{ items: unknown[] }>('/customers')).items).toHaveLength(1);
    expect((await api<{ items: unknown[] }>('/sites')).items).toHaveLength(3);
    // Rotated, not issued again: one credential per device.
    for (const id of ['sim-pc-1', 'SIM-00002', 'store-0001-bo']) {
      const { items: creds } = await api<{ items: Array<{ active: boolean; rotated_at: string | null }> }>(
        `/devices/${id}/credentials`,
      );
      expect(creds, id).toHaveLength(1);
      expect(creds[0].active && creds[0].rotated_at !== null, id).toBe(true);
    }
  }, 60_000);

  it('a wrong API key: simulate exits 1 naming the refusal, and registers nothing', async () => {
    const before = (await api<{ items: unknown[] }>('/devices?limit=100')).items.length;
    const run = await simulate([
      '--api-key',
      'not-a-key',
      '--pcs',
      '1',
      '--opt',
      'prefix=wrong-key-',
      '--duration',
      '1',
    ]);
    expect(run.code).toBe(1);
    expect(run.output).toContain('the server refused the API key (401 FP_UNAUTHENTICATED');
    expect((await api<{ items: unknown[] }>('/devices?limit=100')).items).toHaveLength(before);
  }, 30_000);

  it('without --api-key, unknown devices are refused and the hint is printed once', async () => {
    const run = await simulate([
      '--pos',
      '8',
      '--opt',
      'prefix=unknown-',
      '--opt',
      'flush_s=1',
      '--opt',
      'heartbeat_s=1',
      '--duration',
      '3',
    ]);
    expect(run.code, run.output).toBe(0);
    const hints = run.output.match(
      /devices are refused \(unknown-0001-bo: webhook answered HTTP 401\): pass --api-key \(an admin key\) so simulate can register them, or see plugins\/pos\/README\.md/g,
    );
    expect(hints, run.output).toHaveLength(1);
    expect(run.output).toMatch(/http_401 [2-9]/); // both stores, more than once: still one hint
  }, 30_000);

  it('runs the issue’s command as written: --agents with --terminals-per-agent, the terminals reporting as TC-200s behind their agent', async () => {
    const run = await simulate([
      '--api-key',
      KEY,
      '--agents',
      '1',
      '--terminals-per-agent',
      '2',
      '--interval-s',
      '1',
      '--prefix',
      'cli-agent-',
      '--duration',
      '2',
    ]);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('registered 3 devices for Demo Retail GmbH (3 new, 0 reused), 1 credentials issued');
    const { items } = await api<{ items: Device[] }>('/devices?customer=demo-retail&limit=100');
    const agent = items.find((d) => d.id === 'cli-agent-1')!;
    expect(items.filter((d) => d.gateway === 'cli-agent-1').map((d) => [d.id, d.kind, d.site])).toEqual([
      ['cli-agent-1-t1', 'terminal', agent.site],
      ['cli-agent-1-t2', 'terminal', agent.site],
    ]);
    const expected = {
      contract: 'standard',
      customer: 'demo-retail',
      device: 'cli-agent-1-t1',
      gateway: 'cli-agent-1',
      kind: 'terminal',
      model: 'TC-200',
      site: agent.site,
    };
    for (const [m, tags] of [
      ['terminal_info', { port: '/dev/ttyUSB0' }],
      ['terminal_status', {}],
      ['terminal_link', { port: '/dev/ttyUSB0' }],
    ] as const) {
      await until(
        async () =>
          (await influx.query(`SELECT COUNT(*) FROM ${m} WHERE device = 'cli-agent-1-t1'`, { db })).length > 0,
        `${m} of cli-agent-1-t1`,
      );
      const series = await influx.query(`SELECT * FROM ${m} WHERE device = 'cli-agent-1-t1' GROUP BY * LIMIT 1`, {
        db,
      });
      expect(
        series.map((x) => x.tags),
        m,
      ).toEqual([{ ...expected, ...tags }]);
    }
  }, 30_000);

  it('refuses an unknown flag naming the valid ones, before connecting to anything', async () => {
    const run = await simulate(['--agents', '1', '--terminals-per-agnet', '5']);
    expect(run.code).toBe(2);
    expect(run.output).toContain('fleetpulse simulate: unknown option --terminals-per-agnet; valid options here:');
    expect(run.output).toContain('--terminals-per-agent');
  }, 30_000);
});
