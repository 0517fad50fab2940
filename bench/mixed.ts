/**
 * The NOC's view while the fleet reports: the device API under load (the filtered list and the
 * text search, bench/devices-api.ts's routes and load generator) and the NOC board's panel queries
 * (bench/grafana-queries.ts's, one after the other as its bench times them), measured with
 * chargers connected and reporting, beside the same measured with the fleet idle, in the same run.
 *
 * One real `fleetpulse serve` in a child process (bin/fleetpulse.ts: SQLite inventory with 20,000
 * devices and the chargers with their own passwords, spool, writer into a real influxd, every
 * plugin enabled by default), the chargers in another (bench/ocpp-child.ts `chargers`: the OCPP
 * simulator, half 1.6 and half 2.0.1, meter values every 10 s), the API load in a third. influxd
 * holds the NOC benchmark's fleet (20,000 devices × `hours`), which serve writes beside. The idle
 * view is measured before the chargers connect and again after they have gone, so a busy moment
 * of the shared machine does not fall on one side only: the reference is the mean of the two.
 * No agents yet (their bench, bench/agents.ts, is being built): the name says OCPP + API + NOC.
 *
 * Goals: API p99 ≤ 20 ms and the NOC board ≤ 2 s serial, while the fleet reports.
 * Run: npx tsx bench/mixed.ts [--chargers 2000] [--hours 24]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { dump } from 'js-yaml';
import { openInventory } from '../collector/inventory/index.ts';
import { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { startInfluxd } from '../collector/pipeline/local-influxd.ts';
import { fleetOverview } from '../dashboards/fleet-overview.ts';
import { loadFleet, runLoad } from './devices-api.ts';
import { timeQuery, writeBenchFleet } from './grafana-queries.ts';
import type { ChargersJob } from './ocpp-child.ts';
import type { Result } from './result.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEVICES = 20_000;
const API_GOAL_MS = 20;
const NOC_GOAL_MS = 2000;
const ROUTES = {
  list: '/api/v1/devices?kind=terminal&state=offline&limit=100',
  search: '/api/v1/devices?q=leipzig&limit=100',
} as const;

/** What the NOC sees at one moment: each route's p99 and req/s, and the NOC board's time. */
export interface View {
  list: { p99: number; rps: number };
  search: { p99: number; rps: number };
  nocMs: number;
  load: number;
}
export interface MixedBench {
  chargers: number;
  hours: number;
  idle: [View, View];
  busy: View;
  /** OCPP connections serve held while the busy view was measured. */
  connected: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `fleetpulse serve` with `config`, resolved once it listens (its port from the start log). */
async function serve(dir: string, config: object): Promise<{ child: ChildProcess; url: string }> {
  const file = path.join(dir, 'fleetpulse.yaml');
  writeFileSync(file, dump(config));
  // BENCH_CPU_PROF=<dir>: serve's CPU profile too, written there when it exits (bench-child.ts).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const args = [...profile, '--import', 'tsx', 'bin/fleetpulse.ts', 'serve', '--config', file];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"address":\{"address":"[^"]*","family":"[^"]*","port":(\d+)\}/.exec(out);
      if (m) resolve(Number(m[1]));
      if (out.length > 1e6) out = out.slice(-1e5);
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before it listened:\n${out.slice(-2000)}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** The OCPP connections serve holds now (its own gauge on /metrics). */
async function connections(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const row = text.split('\n').find((r) => r.startsWith('fleetpulse_plugin_gauge{plugin="ocpp",name="connections"}'));
  return row ? Number(row.split(' ').at(-1)) : 0;
}

async function until(what: string, check: () => Promise<boolean>, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(500);
  }
}

const LOOPS = 8;

/**
 * The routes under load, then the NOC board. Every loop of every run has an API key of its own:
 * serve allows 1,200 requests a minute per key, which 8 loops pass within a second.
 */
async function view(base: string, keys: () => string, noc: () => Promise<number>): Promise<View> {
  const load = os.loadavg()[0];
  const common = { concurrency: LOOPS, durationMs: 3000, warmupMs: 1000, maxRequests: 500_000 };
  const routes: Partial<Record<keyof typeof ROUTES, { p99: number; rps: number }>> = {};
  for (const name of Object.keys(ROUTES) as Array<keyof typeof ROUTES>) {
    const loopHeaders = Array.from({ length: LOOPS }, () => ({ authorization: `Bearer ${keys()}` }));
    const r = await runLoad({ ...common, loopHeaders, url: base + ROUTES[name] });
    if (r.errors > 0 || Object.keys(r.statuses).some((s) => s !== '200'))
      throw new Error(`${name}: ${r.errors} errors, statuses ${JSON.stringify(r.statuses)}`);
    routes[name] = { p99: r.p99, rps: r.rps };
  }
  return { list: routes.list!, search: routes.search!, nocMs: await noc(), load };
}

export async function measure(opts: { chargers?: number; hours?: number } = {}): Promise<MixedBench> {
  const chargers = opts.chargers ?? 2000;
  const hours = opts.hours ?? 24;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-bench-mixed-'));
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir);
  const influxd = await startInfluxd({ dataDir: path.join(dir, 'influxdb') });
  const children: ChildProcess[] = [];
  try {
    const db = 'bench';
    const client = new InfluxQuery({ url: influxd.url, database: db, timeoutMs: 60_000 });
    await client.ensureDatabase({ database: db });
    const now = Math.floor(Date.now() / 1000);
    await writeBenchFleet(influxd.url, db, DEVICES, hours, now);
    const range = { from: (now - hours * 3600) * 1000, to: now * 1000 };
    const noc = async () => {
      let total = 0;
      for (const q of fleetOverview().queries) {
        const r = await timeQuery(client, range, q.query, q.minIntervalMs);
        if (r.error) throw new Error(`NOC query ${q.panel} / ${q.refId} failed: ${r.error}`);
        total += r.ms;
      }
      return total;
    };

    // The inventory serve opens: the device API's fleet, the chargers with a password each, a key.
    const inventory = openInventory({ path: path.join(dataDir, 'fleetpulse.db'), env: {} });
    const passwords: Record<string, string> = {};
    const keys: string[] = [];
    try {
      loadFleet(inventory, DEVICES);
      const ids = Array.from({ length: chargers }, (_, i) => `BENCH-${String(i + 1).padStart(5, '0')}`);
      const imported = inventory.devices.importDevices(
        ids.map((id, i) => ({ row: i + 1, device: { id, kind: 'charger', model: 'bench' } })),
        'create',
      );
      if (!imported.ok) throw new Error(`registering the chargers failed: ${JSON.stringify(imported.errors[0])}`);
      inventory.db.transaction(() => {
        for (const id of ids) passwords[id] = inventory.credentials.issue(id, 'ocpp_password').secret;
      })();
      for (let i = 0; i < 3 * Object.keys(ROUTES).length * LOOPS; i++)
        keys.push(inventory.apiKeys.create({ name: `bench-${i}`, role: 'viewer' }).key);
    } finally {
      inventory.close();
    }
    const server = await serve(dir, {
      data_dir: dataDir,
      http: { host: '127.0.0.1', port: 0 },
      influx: { url: influxd.url, database: db },
    });
    children.push(server.child);
    const nextKey = () => keys.pop()!;
    const before = await view(server.url, nextKey, noc);

    const job: ChargersJob = {
      server: server.url,
      passwords,
      chargers,
      ramp_per_s: 1000,
      meter_interval_s: 10,
    };
    const jobFile = path.join(dir, 'chargers.json');
    writeFileSync(jobFile, JSON.stringify(job));
    const fleet = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./ocpp-child.ts', import.meta.url)), 'chargers', jobFile],
      { stdio: ['pipe', 'ignore', 'inherit'] },
    );
    children.push(fleet);
    await until(`${chargers} chargers`, async () => (await connections(server.url)) >= chargers, 15 * 60_000);
    // Boots, statuses, discovery and the first transactions settle: from here the fleet reports at
    // its steady rate (a first run measured 5 s after the last connection: the list fell to 1 req/s).
    await sleep(30_000);
    const busy = await view(server.url, nextKey, noc);
    const connected = await connections(server.url);
    fleet.kill('SIGTERM');
    await until('the chargers to go', async () => (await connections(server.url)) === 0, 5 * 60_000);
    const after = await view(server.url, nextKey, noc);
    return { chargers, hours, idle: [before, after], busy, connected };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)))),
    );
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** For `npm run bench -- --scale seed`: each figure while the chargers report, beside the fleet idle. */
export async function run(): Promise<Result[]> {
  const r = await measure(process.env.BENCH_SCALE === 'seed' ? {} : { hours: 6 });
  const idle = (f: (v: View) => number) => (f(r.idle[0]) + f(r.idle[1])) / 2;
  const loads = `load ${r.idle[0].load.toFixed(1)}, ${r.busy.load.toFixed(1)}, ${r.idle[1].load.toFixed(1)}`;
  const row = (
    what: string,
    f: (v: View) => number,
    unit: string,
    goal: number,
    rps?: (v: View) => number,
  ): Result => ({
    name: `mixed, OCPP + API + NOC (no agents): ${what} while ${r.connected.toLocaleString('en-US')} chargers report vs idle (${DEVICES.toLocaleString('en-US')} devices × ${r.hours} h)`,
    ours: f(r.busy),
    reference: idle(f),
    ratio: f(r.busy) / idle(f),
    goals: [{ on: 'ours', atMost: goal }],
    unit,
    note: `idle before ${f(r.idle[0]).toFixed(1)}, after ${f(r.idle[1]).toFixed(1)}${rps ? `; ${rps(r.busy).toFixed(0)} vs ${idle(rps).toFixed(0)} req/s` : ''}; ${loads}`,
  });
  return [
    row(
      'GET devices kind+state',
      (v) => v.list.p99,
      'ms p99',
      API_GOAL_MS,
      (v) => v.list.rps,
    ),
    row(
      'GET devices text search q=leipzig',
      (v) => v.search.p99,
      'ms p99',
      API_GOAL_MS,
      (v) => v.search.rps,
    ),
    row('NOC board, panel queries one after the other', (v) => v.nocMs, 'ms', NOC_GOAL_MS),
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { chargers: { type: 'string' }, hours: { type: 'string' } } });
  const r = await measure({
    chargers: values.chargers ? Number(values.chargers) : undefined,
    hours: values.hours ? Number(values.hours) : undefined,
  });
  console.log(
    `mixed: ${r.connected} chargers connected of ${r.chargers}; ${DEVICES} devices × ${r.hours} h in influxd`,
  );
  const line = (name: string, v: View) =>
    console.log(
      `${name.padEnd(12)} list p99 ${v.list.p99.toFixed(1)} ms (${v.list.rps.toFixed(0)} req/s)  search p99 ${v.search.p99.toFixed(1)} ms (${v.search.rps.toFixed(0)} req/s)  NOC ${v.nocMs.toFixed(0)} ms  load ${v.load.toFixed(1)}`,
    );
  line('idle before', r.idle[0]);
  line('reporting', r.busy);
  line('idle after', r.idle[1]);
}
