/**
 * Operator pages under load at 20,000 devices: the real API and /ui/ mounted on one Fastify
 * server as `serve` mounts them, a real inventory file (bench/devices-api.ts's fleet, plus 300
 * open incidents from the alert webhook and 50 pending devices), load from a separate process
 * (bench/devices-api-load.ts) with a signed-in page session. Each page is measured beside the
 * API route that gives it its data, with the same admin key (so that every action is offered):
 * the page's cost over the API is the HTML and the in-process API calls it makes (the pending
 * page makes 51, the incident list 2).
 *
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
import { openInventory } from '../collector/inventory/index.ts';
import { Operations } from '../collector/operations/operations.ts';
import { plugins } from '../plugins/index.ts';
import { loadFleet, runLoad, type Scenario } from './devices-api.ts';
import type { Result } from './result.ts';

/** One page or route under load: a single round, so no per-round figures. */
type Measured = Pick<Scenario, 'name' | 'path' | 'result'>;

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
  const inventory = openInventory({ path: path.join(dir, 'fleetpulse.db'), env: {} });
  const operations = new Operations({
    inventory,
    bus: new CommandBus(),
    plugins,
    emit: () => {},
    log: pino({ level: 'silent' }),
    options: { webhookSecret: SECRET },
  });
  const app = Fastify({ logger: false });
  const access = new AccessTable();
  const sessions = new UiSessions(inventory.apiKeys, 3_600_000);
  const authFailures = { max: 1e9, timeWindowMs: 60_000 };
  const loadBefore = os.loadavg()[0];
  try {
    loadFleet(inventory, devices);
    await app.register(apiPlugin, {
      prefix: '/api/v1',
      inventory,
      kinds: KINDS,
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

    const terminals = inventory.devices.list({ kind: 'terminal', limit: 400 }).items.map((d) => d.id);
    const alerts = terminals.slice(0, 300).map((device, i) => ({
      status: 'firing',
      labels: { alertname: 'DeviceOffline', severity: i % 7 === 0 ? 'critical' : 'warning', device },
      annotations: { summary: `Device offline on ${device}` },
      startsAt: new Date(Date.now() - i * 60_000).toISOString(),
      fingerprint: `bench-${i}`,
    }));
    const webhook = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents/webhook',
      headers: { authorization: `Bearer ${SECRET}` },
      payload: { status: 'firing', alerts },
    });
    if (webhook.statusCode !== 200) throw new Error(`webhook: ${webhook.statusCode} ${webhook.body}`);
    for (const id of terminals.slice(300, 350)) {
      const res = await app.inject({
        method: 'PATCH',
        url: `/api/v1/devices/${id}`,
        headers: bearer,
        payload: { lifecycle: 'pending' },
      });
      if (res.statusCode !== 200) throw new Error(`pending ${id}: ${res.statusCode} ${res.body}`);
    }
    const device = terminals[0];

    const common = { concurrency, durationMs: seconds * 1000, warmupMs: 1000, maxRequests: 500_000 };
    const cases: Array<[string, string, string]> = [
      ['incident list', '/ui/incidents', '/api/v1/incidents?status=open&limit=500'],
      ['device page', `/ui/devices/${device}`, `/api/v1/devices/${device}`],
      ['pending devices', '/ui/pending', '/api/v1/devices?lifecycle=pending&sort=-created_at&limit=50'],
    ];
    const pairs: UiPagesBench['pairs'] = [];
    for (const [name, page, api] of cases) {
      const measured: Measured[] = [];
      for (const [label, url, headers] of [
        [`page ${page}`, page, cookie],
        [`API ${api}`, api, bearer],
      ] as const) {
        const result = await runLoad({ ...common, url: base + url, headers });
        if (result.errors > 0 || Object.keys(result.statuses).some((s) => s !== '200'))
          throw new Error(`${label}: ${result.errors} errors, statuses ${JSON.stringify(result.statuses)}`);
        measured.push({ name: `${name}: ${label}`, path: url, result });
      }
      pairs.push({ page: measured[0], api: measured[1] });
    }
    return { devices, concurrency, seconds, pairs, loadavg: [loadBefore, os.loadavg()[0]] };
  } finally {
    await app.close();
    inventory.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function print(bench: UiPagesBench): void {
  console.log(
    `operator pages over ${bench.devices.toLocaleString('en')} devices: ${bench.concurrency} keep-alive loops from a separate process, ${bench.seconds} s each`,
  );
  console.log(
    `  (${os.cpus().length} CPUs, load average ${bench.loadavg[0].toFixed(1)} before, ${bench.loadavg[1].toFixed(1)} after)`,
  );
  console.log(
    `  ${'route'.padEnd(74)}${'req/s'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}${'body B'.padStart(9)}`,
  );
  for (const s of bench.pairs.flatMap((p) => [p.page, p.api])) {
    const r = s.result;
    console.log(
      `  ${s.path.padEnd(74)}${r.rps.toFixed(0).padStart(8)}${r.p50.toFixed(2).padStart(9)}${r.p99.toFixed(2).padStart(9)}${r.max.toFixed(1).padStart(9)}${r.bytes.toFixed(0).padStart(9)}`,
    );
  }
  const worst = Math.max(...bench.pairs.map((p) => p.page.result.p99));
  console.log(
    `  page p99 worst ${worst.toFixed(2)} ms (goal <= ${GOAL_P99_MS} ms: ${worst <= GOAL_P99_MS ? 'met' : 'NOT met'})`,
  );
}

/** For `npm run bench`: each page's p99 beside the p99 of the API route it reads. */
export async function run(): Promise<Result[]> {
  const bench = await measure();
  return bench.pairs.map(({ page, api }) => ({
    name: `${page.name.split(':')[0]} page vs its API (${bench.devices.toLocaleString('en-US')} devices, ${bench.concurrency} loops)`,
    ours: Number(page.result.p99.toFixed(2)),
    reference: Number(api.result.p99.toFixed(2)),
    ratio: page.result.p99 / api.result.p99,
    goal: GOAL_P99_MS,
    lowerIsBetter: true,
    unit: 'ms p99',
    note: `${page.result.rps.toFixed(0)} vs ${api.result.rps.toFixed(0)} req/s; load ${bench.loadavg[0].toFixed(1)}`,
  }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  print(await measure());
}
