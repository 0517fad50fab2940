/**
 * Device list under load: 20,000 devices in a real inventory file, the real API listening on
 * loopback, load from a separate process (bench/devices-api-load.ts: N keep-alive loops).
 * Measured: the issue's filtered list (`kind=terminal&state=offline&limit=100`) and a text
 * search (`q=`, trigram FTS over id, site and customer names), beside a bare Fastify route in
 * the same process that returns a pre-built object of the same JSON size (no auth, no
 * validation, no database): the floor that Fastify and loopback HTTP set on this machine.
 * Timed in rounds, the order reversed every other round, so that a busy moment on the shared
 * machine hits every route alike; each figure is the median over rounds, each ratio the median of
 * the rounds' ratios to bare Fastify.
 *
 * Goal: p99 ≤ 20 ms for every API route.
 * Run: npx tsx bench/devices-api.ts   (DEVICES_API_SECONDS=3, DEVICES_API_ROUNDS=3, DEVICES_API_CONCURRENCY=8)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { build } from '../api/index.ts';
import { openInventory, type DeviceInput, type Inventory } from '../collector/inventory/index.ts';
import type { LoadOptions, LoadResult } from './devices-api-load.ts';
import { median } from './median.ts';
import { prng } from './prng.ts';
import type { Result } from './result.ts';

export interface Scenario {
  name: string;
  path: string;
  /** The round with the median p99. */
  result: LoadResult;
  /** Every round's p99, and its ratio to bare Fastify's p99 in the same round. */
  p99s: number[];
  ratios: number[];
}

export interface DevicesApiBench {
  devices: number;
  concurrency: number;
  seconds: number;
  rounds: number;
  scenarios: Scenario[];
  /** p99 goal for the API routes, ms. */
  goalP99Ms: number;
  /** 1-minute load average before and after: other work on the machine skews every figure. */
  loadavg: [number, number];
}

const KINDS = ['terminal', 'pc', 'charger', 'pos', 'plug'];
const CITIES = [
  'Berlin',
  'Hamburg',
  'Munich',
  'Cologne',
  'Frankfurt',
  'Stuttgart',
  'Leipzig',
  'Dresden',
  'Bremen',
  'Hanover',
  'Lyon',
  'Paris',
  'Vienna',
  'Zurich',
  'Milan',
  'Madrid',
  'Porto',
  'Oslo',
  'Gdansk',
  'Brno',
];
const STATES = ['online', 'online', 'online', 'offline', 'error', 'maintenance'] as const;

/** 200 customers, 2,000 sites, `count` devices (60 % terminals), most of them with a live state. */
export function loadFleet(inventory: Inventory, count: number): void {
  const random = prng(42);
  inventory.db.transaction(() => {
    for (let c = 0; c < 200; c++) {
      inventory.customers.create({
        id: `cust-${c}`,
        company: `${['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli'][c % 5]} Retail ${c}`,
        contract: 'standard',
      });
    }
    for (let s = 0; s < 2000; s++) {
      inventory.sites.create({
        id: `site-${s}`,
        customer: `cust-${s % 200}`,
        name: `${CITIES[s % CITIES.length]} Store ${s}`,
        timezone: 'Europe/Berlin',
      });
    }
  })();
  const rows = Array.from({ length: count }, (_, i) => {
    const r = random();
    const kind = r < 0.6 ? 'terminal' : KINDS[1 + Math.floor(random() * 4)];
    const device: DeviceInput = {
      id: `${kind.slice(0, 2).toUpperCase()}-${String(i).padStart(6, '0')}`,
      kind,
      model: kind === 'terminal' ? 'TC-200' : `${kind}-model-${i % 3}`,
      site: `site-${Math.floor(random() * 2000)}`,
      firmware: `4.${i % 7}.${i % 3}`,
      installed_on: '2024-05-01',
      labels: { zone: `z${i % 12}`, tier: i % 4 === 0 ? 'gold' : 'std' },
    };
    return { row: i + 1, device };
  });
  const result = inventory.devices.importDevices(rows, 'create');
  if (!result.ok) throw new Error(`loading the fleet failed: ${JSON.stringify(result.errors.slice(0, 3))}`);
  const now = Date.now();
  for (const { device } of rows) {
    if (random() < 0.9)
      inventory.directory.reportStatus(
        device.id,
        STATES[Math.floor(random() * STATES.length)],
        now - Math.floor(random() * 86_400_000),
      );
  }
  inventory.devices.count();
  inventory.devices.list({ limit: 1 }); // flushes the reported states
}

export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const script = fileURLToPath(new URL('./devices-api-load.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(opts)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult);
      } catch (err) {
        reject(new Error(`load generator printed no result: ${out} (${(err as Error).message})`));
      }
    });
  });
}

export async function measure(
  opts: { devices?: number; concurrency?: number; seconds?: number; rounds?: number } = {},
): Promise<DevicesApiBench> {
  const devices = opts.devices ?? 20_000;
  const concurrency = opts.concurrency ?? Number(process.env.DEVICES_API_CONCURRENCY ?? 8);
  const seconds = opts.seconds ?? Number(process.env.DEVICES_API_SECONDS ?? 3);
  const rounds = opts.rounds ?? Number(process.env.DEVICES_API_ROUNDS ?? 3);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-bench-'));
  const inventory = openInventory({ path: path.join(dir, 'fleetpulse.db'), env: {} });
  const api = build({ inventory, kinds: KINDS, limits: { rateLimit: { max: 1e9, timeWindowMs: 60_000 } } });
  const bare = Fastify({ logger: false });
  const loadBefore = os.loadavg()[0];
  try {
    loadFleet(inventory, devices);
    const { key } = inventory.apiKeys.create({ name: 'bench', role: 'viewer' });
    const headers = { authorization: `Bearer ${key}` };
    await api.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;

    const listPath = '/api/v1/devices?kind=terminal&state=offline&limit=100';
    const searchPath = '/api/v1/devices?q=leipzig&limit=100';
    const sample = await fetch(base + listPath, { headers });
    if (sample.status !== 200) throw new Error(`${listPath}: HTTP ${sample.status} ${await sample.text()}`);
    const sampleBody = (await sample.json()) as { items: unknown[] };
    if (sampleBody.items.length !== 100) throw new Error(`expected a full page of 100, got ${sampleBody.items.length}`);
    bare.get('/bare', async () => sampleBody);
    await bare.listen({ host: '127.0.0.1', port: 0 });
    const bareBase = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}`;

    const common = { concurrency, durationMs: seconds * 1000, warmupMs: 1000, maxRequests: 500_000 };
    const routes = [
      ['bare Fastify, same JSON size', `${bareBase}/bare`, {}],
      ['GET devices kind+state, limit 100', base + listPath, headers],
      ['GET devices text search q=leipzig', base + searchPath, headers],
    ] as const;
    const results: LoadResult[][] = routes.map(() => []);
    for (let round = 0; round < rounds; round++) {
      const order = routes.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        const [name, url, h] = routes[i];
        const result = await runLoad({ ...common, url, headers: h });
        if (result.errors > 0 || Object.keys(result.statuses).some((s) => s !== '200')) {
          throw new Error(`${name}: ${result.errors} errors, statuses ${JSON.stringify(result.statuses)}`);
        }
        results[i].push(result);
      }
    }
    const scenarios: Scenario[] = routes.map(([name, url], i) => {
      const p99s = results[i].map((r) => r.p99);
      const mid = [...results[i]].sort((a, b) => a.p99 - b.p99)[results[i].length >> 1];
      return {
        name,
        path: url.replace(/^http:\/\/[^/]+/, ''),
        result: mid,
        p99s,
        ratios: results[i].map((r, round) => r.p99 / results[0][round].p99),
      };
    });
    return { devices, concurrency, seconds, rounds, scenarios, goalP99Ms: 20, loadavg: [loadBefore, os.loadavg()[0]] };
  } finally {
    await api.close();
    await bare.close();
    inventory.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function print(bench: DevicesApiBench): void {
  console.log(
    `device list over ${bench.devices.toLocaleString('en')} devices: ${bench.concurrency} concurrent keep-alive loops from a separate process, ${bench.seconds} s each, ${bench.rounds} alternating rounds (the median round shown)`,
  );
  console.log(
    `  (${os.cpus().length} CPUs, load average ${bench.loadavg[0].toFixed(1)} before, ${bench.loadavg[1].toFixed(1)} after)`,
  );
  console.log(
    `  ${'route'.padEnd(36)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p90 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'max ms'.padStart(9)}${'body B'.padStart(9)}`,
  );
  for (const s of bench.scenarios) {
    const r = s.result;
    console.log(
      `  ${s.name.padEnd(36)}${r.rps.toFixed(0).padStart(9)}${r.p50.toFixed(2).padStart(9)}${r.p90.toFixed(2).padStart(9)}${r.p99.toFixed(2).padStart(9)}${r.max.toFixed(1).padStart(9)}${r.bytes.toFixed(0).padStart(9)}`,
    );
  }
  const api = bench.scenarios.filter((s) => s.path.startsWith('/api/'));
  const worst = Math.max(...api.map((s) => s.result.p99));
  console.log(
    `  API p99 worst ${worst.toFixed(2)} ms (goal <= ${bench.goalP99Ms} ms: ${worst <= bench.goalP99Ms ? 'met' : 'NOT met'})`,
  );
}

/** For `npm run bench`: each API route's p99 beside bare Fastify answering the same JSON. */
export async function run(): Promise<Result[]> {
  const bench = await measure();
  const [bare, ...api] = bench.scenarios;
  return api.map((s) => ({
    name: `${s.name} (${bench.devices.toLocaleString('en-US')} devices, ${bench.concurrency} loops, median of ${bench.rounds} rounds)`,
    ours: median(s.p99s),
    reference: median(bare.p99s),
    ratio: median(s.ratios),
    goals: [{ on: 'ours', atMost: bench.goalP99Ms }],
    unit: 'ms p99',
    note: `rounds ${s.p99s.map((p) => p.toFixed(1)).join(', ')} ms; ${s.result.rps.toFixed(0)} vs ${bare.result.rps.toFixed(0)} req/s; load ${bench.loadavg[0].toFixed(2)}`,
  }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  print(await measure());
}
