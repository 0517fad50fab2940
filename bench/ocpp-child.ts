/**
 * Child processes of bench/ocpp.ts, one role each, so that every server's RSS is its own:
 *
 *   node --expose-gc --import tsx bench/ocpp-child.ts ours     '<json>'   the OCPP plugin in the real runtime
 *   node --expose-gc --import tsx bench/ocpp-child.ts bare     '<json>'   a bare ocpp-rpc server, same calls
 *   node --import tsx bench/ocpp-child.ts chargers '<json>'             the simulator (plugins/ocpp/simulator.ts)
 *
 * Servers print JSON lines on stdout: {"event":"ready","port":N,"passwords":{id:password}}, then
 * {"event":"result",...} once `chargers` are connected, measured and `commands` commands have made
 * their round trip. Ours runs as `serve` configures it: the chargers registered in a SQLite
 * inventory, each with an `ocpp_password` of its own, the plugin's defaults (password required);
 * the bare server checks the same passwords from a Map in `auth`.
 */
import v8 from 'node:v8';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { RPCServer } from 'ocpp-rpc';
import pino from 'pino';
import { Spool } from '../collector/pipeline/spool.ts';
import { openStateDb } from '../collector/pipeline/state-db.ts';
import { Collector } from '../collector/runtime/collector.ts';
import { SelfMetrics } from '../collector/runtime/self-metrics.ts';
import { SharedServer } from '../collector/runtime/shared-server.ts';
import { openInventory } from '../collector/inventory/index.ts';
import { generateSecret } from '../collector/inventory/credentials.ts';
import ocpp from '../plugins/ocpp/index.ts';
import simulator from '../plugins/ocpp/simulator.ts';
import { emit } from './bench-child.ts';
import { memoryParts, rssKb } from './process-memory.ts';

export interface ServerJob {
  chargers: number;
  commands: number;
  heartbeat_s: number;
}
export interface ChargersJob {
  server: string;
  passwords: Record<string, string>;
  chargers: number;
  ramp_per_s: number;
  meter_interval_s: number;
}

/** RSS and used heap before any charger: after start-up garbage (module compilation) is collected. */
let heapBaselineKb = 0;
let partsBaseline: Record<string, number> = {};
async function baselineKb(): Promise<number> {
  await sleep(3000);
  const rss = rssKb();
  heapBaselineKb = process.memoryUsage().heapUsed / 1024;
  partsBaseline = memoryParts();
  return rss;
}

/** Counts connections, times the ramp, then measures RSS and command round trips. */
async function measure(
  job: ServerJob,
  connected: () => number,
  ids: () => string[],
  command: (id: string) => Promise<boolean>,
  baselineKb: number,
  firstAt: () => number,
) {
  const deadline = Date.now() + 15 * 60_000;
  while (connected() < job.chargers && Date.now() < deadline) await sleep(50);
  const rampS = (Date.now() - firstAt()) / 1000;
  await sleep(5000); // boots, statuses and first transactions settle
  const perConnectionKb = (rssKb() - baselineKb) / connected();
  const heapPerConnectionKb = (process.memoryUsage().heapUsed / 1024 - heapBaselineKb) / connected();
  const parts = memoryParts();
  if (process.env.BENCH_OCPP_SNAPSHOT_DIR)
    v8.writeHeapSnapshot(join(process.env.BENCH_OCPP_SNAPSHOT_DIR, `${process.argv[2]}.heapsnapshot`));
  const rssPartsPerConnectionKb = Object.fromEntries(
    Object.entries(parts).map(([k, v]) => [k, Math.round(((v - (partsBaseline[k] ?? 0)) / connected()) * 10) / 10]),
  );
  const latencies: number[] = [];
  let failed = 0;
  const targets = ids();
  for (let i = 0; i < job.commands; i++) {
    const id = targets[Math.floor(Math.random() * targets.length)];
    const t0 = performance.now();
    if (!(await command(id))) failed++;
    latencies.push(performance.now() - t0);
    await sleep(10);
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  emit({
    event: 'result',
    connected: connected(),
    ramp_per_s: connected() / rampS,
    rss_per_connection_kb: perConnectionKb,
    heap_per_connection_kb: heapPerConnectionKb,
    rss_parts_per_connection_kb: rssPartsPerConnectionKb,
    rss_mb: process.memoryUsage().rss / 2 ** 20,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    failed,
  });
}

async function ours(job: ServerJob) {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-bench-ocpp-'));
  const db = openStateDb(join(dir, 'state.db'));
  const inventory = openInventory({ path: join(dir, 'fleetpulse.db'), env: {} });
  const imported = inventory.devices.importDevices(
    ids(job.chargers).map((d, i) => ({ row: i + 1, device: { id: d, kind: 'charger', model: 'bench' } })),
    'create',
  );
  if (!imported.ok) throw new Error(`registering the chargers failed: ${JSON.stringify(imported.errors.slice(0, 3))}`);
  const passwords: Record<string, string> = {};
  inventory.db.transaction(() => {
    for (const d of ids(job.chargers)) passwords[d] = inventory.credentials.issue(d, 'ocpp_password').secret;
  })();
  const spool = new Spool({ db });
  const log = pino({ level: 'warn' });
  const loggerInstance: FastifyBaseLogger = log;
  const app = Fastify({ loggerInstance });
  const server = new SharedServer(app);
  // The plugin's API routes are not measured here: mount them without the API around them.
  void app.register(async (api) => server.mountApiRoutes(api), { prefix: '/api/v1' });
  const collector = new Collector({
    place: 'serve',
    plugins: [ocpp],
    pluginConfig: { ocpp: { heartbeat_interval_s: job.heartbeat_s } },
    sink: spool,
    db,
    pluginDb: inventory.db,
    directory: inventory.directory,
    metrics: new SelfMetrics('bench'),
    log,
    server,
  });
  await collector.start();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const baseline = await baselineKb();
  const allIds = ids(job.chargers);
  let first = 0;
  const attached = () => {
    let n = 0;
    for (const d of allIds) if (collector.bus.isAttached(d)) n++;
    if (n > 0 && first === 0) first = Date.now();
    return n;
  };
  emit({ event: 'ready', port: (app.server.address() as { port: number }).port, passwords });
  await measure(
    job,
    attached,
    () => allIds.filter((d) => collector.bus.isAttached(d)),
    async (d) => (await collector.bus.dispatch(d, { name: 'clear_cache', timeout_s: 10 })).status === 'succeeded',
    baseline,
    () => first,
  );
  await collector.stop(2000);
  await app.close();
  spool.close();
  db.close();
  inventory.close();
  rmSync(dir, { recursive: true, force: true });
}

async function bare(job: ServerJob) {
  const rpc = new RPCServer({ protocols: ['ocpp2.0.1', 'ocpp1.6'], strictMode: true, pingIntervalMs: 60_000 });
  const passwords: Record<string, string> = {};
  for (const d of ids(job.chargers)) passwords[d] = generateSecret('ocpp_password');
  rpc.auth((accept, reject, handshake) => {
    const given = handshake.password ? Buffer.from(handshake.password).toString() : undefined;
    if (given !== undefined && given === passwords[handshake.identity]) accept();
    else reject(401, 'Unauthorized');
  });
  const clients = new Map<string, any>();
  let first = 0;
  let tx = 0;
  const now = () => new Date().toISOString();
  rpc.on('client', (client: any) => {
    if (first === 0) first = Date.now();
    clients.set(client.identity, client);
    client.once('close', () => clients.delete(client.identity));
    const v16 = client.protocol === 'ocpp1.6';
    client.handle('BootNotification', () => ({ status: 'Accepted', currentTime: now(), interval: job.heartbeat_s }));
    client.handle('Heartbeat', () => ({ currentTime: now() }));
    for (const a of ['StatusNotification', 'MeterValues', 'SecurityEventNotification']) client.handle(a, () => ({}));
    client.handle('Authorize', () =>
      v16 ? { idTagInfo: { status: 'Accepted' } } : { idTokenInfo: { status: 'Accepted' } },
    );
    client.handle('StartTransaction', () => ({ transactionId: ++tx, idTagInfo: { status: 'Accepted' } }));
    client.handle('StopTransaction', () => ({}));
    client.handle('TransactionEvent', () => ({}));
  });
  const http = createServer();
  http.on('upgrade', (request, socket, head) => void rpc.handleUpgrade(request, socket as never, head));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const baseline = await baselineKb();
  emit({ event: 'ready', port: (http.address() as { port: number }).port, passwords });
  await measure(
    job,
    () => clients.size,
    () => [...clients.keys()],
    async (d) => ((await clients.get(d)?.call('ClearCache', {})) as { status?: string })?.status === 'Accepted',
    baseline,
    () => first,
  );
  await rpc.close({ force: true });
  http.close();
}

async function chargers(job: ChargersJob) {
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.stdin.on('close', () => stop.abort()); // the parent went away
  process.stdin.resume();
  await simulator.run({
    server: job.server,
    count: job.chargers,
    options: {
      prefix: 'BENCH-',
      ramp_per_s: String(job.ramp_per_s),
      meter_interval_s: String(job.meter_interval_s),
      plug_in_chance: '0.2',
      connectors: '2',
    },
    progress: { update: () => {}, count: () => {} },
    signal: stop.signal,
    credentials: new Map(Object.entries(job.passwords)),
  });
}

const id = (i: number) => `BENCH-${String(i).padStart(5, '0')}`;
/** The simulator's identities: prefix + a number from 1 (plugins/ocpp/simulator.ts). */
const ids = (count: number) => Array.from({ length: count }, (_, i) => id(i + 1));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const [role, jobFile] = process.argv.slice(2);
const job = JSON.parse(jobFile ? readFileSync(jobFile, 'utf8') : '{}');
const run =
  role === 'ours'
    ? ours(job)
    : role === 'bare'
      ? bare(job)
      : role === 'chargers'
        ? chargers(job)
        : Promise.reject(new Error(`unknown role ${role}`));
run.then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
