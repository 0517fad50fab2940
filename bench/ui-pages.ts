/**
 * Operator pages under load at 20,000 devices: the real API and /ui/ mounted on one Fastify
 * server as `serve` mounts them, a real inventory file (bench/devices-api.ts's fleet, plus 300
 * open incidents from the alert webhook, 50 chargers pending with their boot data, 50 timed
 * sessions, 20 rollouts), a local influxd with a day of hourly availability rollups for every
 * device (the uptime report, and the device page's latest readings), load from a separate process
 * (bench/devices-api-load.ts) with a signed-in page session. Each page is measured beside the
 * API route that gives it its data, with the same admin key (so that every action is offered):
 * the page's cost over the API is the HTML and the other in-process API calls it makes.
 *
 * Goal (issue 18): every page p99 ≤ 100 ms; each page's row carries it in `npm run bench`'s verdict.
 * Run: npx tsx bench/ui-pages.ts   (DEVICES_API_SECONDS=5, DEVICES_API_CONCURRENCY=8)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import pino from 'pino';
import { AccessTable } from '../api/access-table.ts';
import { apiPlugin } from '../api/plugin.ts';
import { uiPlugin } from '../api/ui/plugin.ts';
import { UiSessions } from '../api/ui/sessions.ts';
import { CommandBus } from '../collector/commands/command-bus.ts';
import { openInventory, type Inventory } from '../collector/inventory/index.ts';
import { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { startInfluxd } from '../collector/pipeline/local-influxd.ts';
import { deviceAvailability } from '../collector/runtime/measurements.ts';
import { Operations } from '../collector/operations/operations.ts';
import { plugins } from '../plugins/index.ts';
import { loadFleet, runLoad, type Scenario } from './devices-api.ts';
import { verdict, type Result } from './result.ts';

/** One page or route under load: a single round, so no per-round figures. */
type Measured = Pick<Scenario, 'name' | 'path' | 'result'> & { loops: number };

const KINDS = ['terminal', 'pc', 'charger', 'pos', 'plug'];
const SECRET = 'bench-webhook-secret';
const GOAL_P99_MS = 100;

export interface UiPagesBench {
  devices: number;
  concurrency: number;
  seconds: number;
  /** Pairs: the page, then the API route behind it. */
  pairs: Array<{ page: Measured; api: Measured }>;
  loadavg: [number, number];
}

export async function measure(): Promise<UiPagesBench> {
  const devices = 20_000;
  const concurrency = Number(process.env.DEVICES_API_CONCURRENCY ?? 8);
  const seconds = Number(process.env.DEVICES_API_SECONDS ?? 5);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-bench-ui-'));
  const influxd = await startInfluxd({ dataDir: path.join(dir, 'influxdb') });
  const influx = new InfluxQuery({ url: `http://127.0.0.1:${influxd.port}`, database: 'bench', timeoutMs: 30_000 });
  const inventory = openInventory({ path: path.join(dir, 'fleetpulse.db'), env: {} });
  const operations = new Operations({
    inventory,
    bus: new CommandBus(),
    plugins,
    emit: () => {},
    log: pino({ level: 'silent' }),
    influx,
    options: { webhookSecret: SECRET },
  });
  const app = Fastify({ logger: false });
  const access = new AccessTable();
  const sessions = new UiSessions(inventory.apiKeys, 3_600_000);
  const authFailures = { max: 1e9, timeWindowMs: 60_000 };
  const loadBefore = os.loadavg()[0];
  try {
    loadFleet(inventory, devices);
    await influx.ensureDatabase({ database: 'bench' });
    const month = await writeAvailability(`http://127.0.0.1:${influxd.port}`, inventory);
    await app.register(apiPlugin, {
      prefix: '/api/v1',
      inventory,
      kinds: KINDS,
      influx,
      operations,
      access,
      sessions,
      limits: { rateLimit: { max: 1e9, timeWindowMs: 60_000 }, authFailures },
    });
    await app.register(uiPlugin, {
      prefix: '/ui',
      server: app,
      apiPrefix: '/api/v1',
      inventory,
      operations,
      sessions,
      access,
      authFailures,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const created = inventory.apiKeys.create({ name: 'bench', role: 'admin' });
    const bearer = { authorization: `Bearer ${created.key}` };
    const cookie = { cookie: `fp_ui_session=${sessions.open(inventory.apiKeys.get(created.id)!).token}` };
    const call = async (method: 'POST' | 'PATCH', url: string, payload: object, headers: object = bearer) => {
      const res = await app.inject({ method, url, headers: headers as Record<string, string>, payload });
      if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
      return res.json<Record<string, unknown>>();
    };

    const terminals = inventory.devices.list({ kind: 'terminal', limit: 400 }).items.map((d) => d.id);
    const alerts = terminals.slice(0, 300).map((device, i) => ({
      status: 'firing',
      labels: { alertname: 'DeviceOffline', severity: i % 7 === 0 ? 'critical' : 'warning', device },
      annotations: { summary: `Device offline on ${device}` },
      startsAt: new Date(Date.now() - i * 60_000).toISOString(),
      fingerprint: `bench-${i}`,
    }));
    await call(
      'POST',
      '/api/v1/incidents/webhook',
      { status: 'firing', alerts },
      { authorization: `Bearer ${SECRET}` },
    );
    // Chargers that connected unknown, with what their BootNotification said.
    for (let i = 0; i < 50; i++) {
      const serial = `SN-${String(i).padStart(4, '0')}`;
      await inventory.directory.discover(`CP-NEW-${i}`, {
        kind: 'charger',
        reported: { vendor: 'Volta', model: 'Pulsar', serial, firmware: '5.0.1' },
      });
    }
    const stations = inventory.devices.list({ kind: 'pc', limit: 50 }).items.map((d) => d.id);
    for (const station of stations) await call('POST', '/api/v1/sessions', { station, minutes: 90 });
    const sha256 = 'a'.repeat(64);
    const firmware = await call('POST', '/api/v1/firmware', {
      model: 'TC-200',
      version: '9.0.0',
      url: 'https://firmware.example.com/tc200-9.0.0.bin',
      sha256,
    });
    let rollout = '';
    for (let i = 0; i < 20; i++)
      rollout = String(
        (await call('POST', '/api/v1/rollouts', { firmware_id: firmware.id, selector: { site: `site-${i}` } })).id,
      );
    const device = terminals[0];

    const common = { concurrency, durationMs: seconds * 1000, warmupMs: 1000, maxRequests: 500_000 };
    const report = `month=${month}`;
    // [name, page, the API route behind it, loops (default `concurrency`)]
    const cases: Array<[string, string, string, number?]> = [
      ['incident list', '/ui/incidents', '/api/v1/incidents?status=unresolved&sort=severity&limit=50'],
      ['device page', `/ui/devices/${device}`, `/api/v1/devices/${device}`],
      [
        'pending devices',
        '/ui/pending',
        '/api/v1/devices?lifecycle=pending&sort=-created_at&limit=50&include=reported',
      ],
      ['timed sessions', '/ui/sessions', '/api/v1/sessions?state=active'],
      ['rollout list', '/ui/rollouts', '/api/v1/rollouts'],
      ['rollout page', `/ui/rollouts/${rollout}`, `/api/v1/rollouts/${rollout}/devices`],
      // Read from the stored sums: the first (untimed) request sums the month in InfluxDB.
      ['uptime report', `/ui/reports?${report}`, `/api/v1/reports/uptime?${report}`],
    ];
    const pairs: UiPagesBench['pairs'] = [];
    for (const [name, page, api, loops = concurrency] of cases) {
      const measured: Measured[] = [];
      for (const [label, url, headers] of [
        [`page ${page}`, page, cookie],
        [`API ${api}`, api, bearer],
      ] as const) {
        // Once first: a page that fails says why, before it is timed.
        const once = await fetch(base + url, { headers });
        if (once.status !== 200) throw new Error(`${label}: ${once.status} ${await once.text()}`);
        const result = await runLoad({ ...common, concurrency: loops, url: base + url, headers });
        if (result.errors > 0 || Object.keys(result.statuses).some((s) => s !== '200'))
          throw new Error(`${label}: ${result.errors} errors, statuses ${JSON.stringify(result.statuses)}`);
        measured.push({ name: `${name}: ${label}`, path: url, result, loops });
      }
      pairs.push({ page: measured[0], api: measured[1] });
    }
    return { devices, concurrency, seconds, pairs, loadavg: [loadBefore, os.loadavg()[0]] };
  } finally {
    await app.close();
    inventory.close();
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The first day of this month (UTC) as hourly availability rollups of every device, as the
 * runtime writes them: what the uptime report sums. Returns the month, YYYY-MM.
 */
async function writeAvailability(url: string, inventory: Inventory): Promise<string> {
  const now = new Date();
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) / 1000;
  const all = inventory.devices.all();
  let lines: string[] = [];
  const flush = async () => {
    const res = await fetch(`${url}/write?db=bench&precision=s`, { method: 'POST', body: lines.join('\n') });
    if (res.status !== 204) throw new Error(`write ${res.status}: ${await res.text()}`);
    lines = [];
  };
  for (let hour = 0; hour < 24; hour++) {
    for (const [n, d] of all.entries()) {
      const offline = (n + hour) % 17 === 0 ? 3600 : 0;
      const fields: Record<keyof typeof deviceAvailability.fields, number> = {
        online_s: 3600 - offline,
        error_s: 0,
        offline_s: offline,
        maintenance_s: 0,
      };
      const values = Object.entries(fields).map(([k, v]) => `${k}=${v}i`);
      lines.push(
        `${deviceAvailability.name},customer=${d.customer},device=${d.id},kind=${d.kind},site=${d.site} ` +
          `${values.join(',')} ${start + hour * 3600}`,
      );
      if (lines.length === 10_000) await flush();
    }
  }
  if (lines.length) await flush();
  return new Date(start * 1000).toISOString().slice(0, 7);
}

export function print(bench: UiPagesBench): void {
  console.log(
    `operator pages over ${bench.devices.toLocaleString('en')} devices: keep-alive loops from a separate process, ${bench.seconds} s each`,
  );
  console.log(
    `  (${os.cpus().length} CPUs, load average ${bench.loadavg[0].toFixed(1)} before, ${bench.loadavg[1].toFixed(1)} after)`,
  );
  console.log(
    `  ${'route'.padEnd(78)}${'loops'.padStart(6)}${'req/s'.padStart(7)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}${'body B'.padStart(8)}  verdict`,
  );
  const rows = results(bench);
  bench.pairs.forEach((pair, n) => {
    for (const s of [pair.page, pair.api]) {
      const r = s.result;
      console.log(
        `  ${s.path.padEnd(78)}${String(s.loops).padStart(6)}${r.rps.toFixed(0).padStart(7)}${r.p50.toFixed(2).padStart(9)}${r.p99.toFixed(2).padStart(9)}${r.max.toFixed(1).padStart(9)}${r.bytes.toFixed(0).padStart(8)}  ${s === pair.page ? verdict(rows[n]) : ''}`,
      );
    }
  });
}

/** Each page's p99 beside the p99 of the API route it reads, with the goal on the page's. */
function results(bench: UiPagesBench): Result[] {
  const load = `load ${bench.loadavg[0].toFixed(1)}–${bench.loadavg[1].toFixed(1)}`;
  return bench.pairs.map(({ page, api }) => ({
    name: `${page.name.split(':')[0]} page vs its API (${bench.devices.toLocaleString('en-US')} devices, ${page.loops} loops)`,
    ours: page.result.p99,
    reference: api.result.p99,
    ratio: page.result.p99 / api.result.p99,
    goals: [{ on: 'ours', atMost: GOAL_P99_MS }],
    unit: 'ms p99',
    note: `${page.result.rps.toFixed(0)} vs ${api.result.rps.toFixed(0)} req/s, ${page.result.requests} requests; ${load}`,
  }));
}

/** For `npm run bench`. */
export async function run(): Promise<Result[]> {
  return results(await measure());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  print(await measure());
}
