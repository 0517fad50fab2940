/**
 * Agents held by one server, and points/s through the agent uplink into a real influxd, beside
 * the same points written by the server-side pipeline directly (Spool → Drain → influxd), in the
 * same run on the same influxd.
 *
 * Uplink path: N in-process agents (real WebSockets, the real agent protocol) each send their
 * batches one after the other, waiting for each ack; the server's agent plugin parses each line's
 * head, enriches it from the inventory, spools it, acks after commit; the drain writes to influxd.
 * Timed from the first batch until influxd holds every point.
 * Reference: the same lines appended to a server spool directly and drained into influxd.
 * Paired rounds, the order alternating, each side into a fresh database; medians reported.
 *
 * Goal: uplink ≥ 0.6 × direct (issue 19).
 * Run: npx tsx bench/agent-uplink.ts   (AGENTS=200 BATCHES=5 LINES_PER_BATCH=500 ROUNDS=3)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { median } from './median.ts';
import { figure, verdict, type Result } from './result.ts';
import { Drain } from '../collector/pipeline/drain.ts';
import { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { InfluxV1Writer } from '../collector/pipeline/influx-writer.ts';
import { startInfluxd } from '../collector/pipeline/local-influxd.ts';
import { Spool } from '../collector/pipeline/spool.ts';
import { openStateDb } from '../collector/pipeline/state-db.ts';
import { Collector } from '../collector/runtime/collector.ts';
import { SelfMetrics } from '../collector/runtime/self-metrics.ts';
import { SharedServer } from '../collector/runtime/shared-server.ts';
import { MemoryDirectory } from '../collector/sdk/index.ts';
import { SimulatedUplink } from '../collector/sdk/simulation.ts';
import agentPlugin from '../plugins/agent/index.ts';
import hostPlugin from '../plugins/host/index.ts';
import { hostLines } from '../plugins/host/simulated-pc.ts';

export interface AgentUplinkBench {
  agents: number;
  points: number;
  rounds: number;
  /** Points/s from the agents' first batch until influxd holds them all. */
  uplink: number;
  /** Points/s for the same lines through the server pipeline alone. */
  direct: number;
  /** The median of the paired rounds' ratios uplink ÷ direct, and each round's. */
  ratio: number;
  ratios: number[];
  /** Resident memory per connected agent on the server side, KB (rough: RSS delta / agents). */
  rssPerAgentKb: number;
}

const log = pino({ level: 'silent' });

export async function measure(
  opts: { agents?: number; batches?: number; linesPerBatch?: number; rounds?: number } = {},
): Promise<AgentUplinkBench> {
  const agents = opts.agents ?? Number(process.env.AGENTS ?? 200);
  const batches = opts.batches ?? Number(process.env.BATCHES ?? 5);
  const perBatch = Math.max(5, opts.linesPerBatch ?? Number(process.env.LINES_PER_BATCH ?? 500));
  const rounds = opts.rounds ?? Number(process.env.ROUNDS ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-bench-uplink-'));
  const influxd = await startInfluxd({ dataDir: join(dir, 'influxdb') });
  const query = new InfluxQuery({ url: influxd.url });
  try {
    // The lines every agent sends, built before timing: 5 host measurements per timestamp.
    // Recent times: the default retention policy would drop old ones. Whole seconds, one per step.
    const t0 = Math.floor(Date.now() / 1000) * 1000 - batches * perBatch * 1000;
    const plan = Array.from({ length: agents }, (_, a) =>
      Array.from({ length: batches }, (_, b) => {
        const lines: string[] = [];
        for (let k = 0; lines.length < perBatch; k++)
          lines.push(...hostLines(`bench-pc-${a}`, t0 + (b * perBatch + k) * 1000, a));
        return lines.slice(0, perBatch);
      }),
    );
    const points = agents * batches * perBatch;
    const directory = new MemoryDirectory();
    for (let a = 0; a < agents; a++)
      directory.add(
        { id: `bench-pc-${a}`, kind: 'pc', customer: 'bench', site: `site-${a % 20}` },
        { type: 'agent_token', value: `tok-${a}` },
      );

    // Uplink: the agents' batches through the agent plugin, its spool and drain, into influxd.
    let rssPerAgentKb = 0;
    const viaUplink = async (database: string) => {
      await query.ensureDatabase({ database });
      const server = await startServer(join(dir, `${database}.db`), directory, influxd.url, database);
      const rssBefore = process.memoryUsage().rss;
      const clients = plan.map(
        (_, a) => new SimulatedUplink({ url: `${server.url}/agent/`, id: `bench-pc-${a}`, token: `tok-${a}` }),
      );
      for (const c of clients) await c.connect();
      rssPerAgentKb = (process.memoryUsage().rss - rssBefore) / 1024 / agents;
      const started = performance.now();
      await Promise.all(
        clients.map(async (c, a) => {
          for (const lines of plan[a]) await c.send(lines);
        }),
      );
      await waitFor(influxd.url, database, points);
      const seconds = (performance.now() - started) / 1000;
      await Promise.all(clients.map((c) => c.close()));
      await server.stop();
      return points / seconds;
    };
    // Direct: the same lines into a server spool, drained into influxd.
    const direct = async (database: string) => {
      await query.ensureDatabase({ database });
      const db = openStateDb(join(dir, `${database}.db`));
      const spool = new Spool({ db });
      const drain = new Drain({
        spool,
        writer: new InfluxV1Writer({ url: influxd.url, database }),
        log,
        flushIntervalMs: 100,
      });
      const started = performance.now();
      drain.start();
      for (const perAgent of plan) for (const lines of perAgent) for (const l of lines) spool.append(l);
      spool.commit();
      drain.nudge();
      await waitFor(influxd.url, database, points);
      const seconds = (performance.now() - started) / 1000;
      await drain.stop(1000);
      spool.close();
      db.close();
      return points / seconds;
    };

    // Paired rounds, the order alternating: whoever goes second meets influxd compacting the first's points.
    const uplinkRates: number[] = [];
    const directRates: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        uplinkRates.push(await viaUplink(`uplink_${r}`));
        directRates.push(await direct(`direct_${r}`));
      } else {
        directRates.push(await direct(`direct_${r}`));
        uplinkRates.push(await viaUplink(`uplink_${r}`));
      }
    }
    const ratios = uplinkRates.map((u, r) => u / directRates[r]);
    return {
      agents,
      points,
      rounds,
      uplink: median(uplinkRates),
      direct: median(directRates),
      ratio: median(ratios),
      ratios,
      rssPerAgentKb,
    };
  } finally {
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startServer(dbPath: string, directory: MemoryDirectory, influxUrl: string, database: string) {
  const db = openStateDb(dbPath);
  const spool = new Spool({ db });
  const loggerInstance: FastifyBaseLogger = log;
  const app = Fastify({ loggerInstance });
  const collector = new Collector({
    place: 'serve',
    plugins: [agentPlugin, hostPlugin],
    pluginConfig: {},
    sink: spool,
    db,
    pluginDb: db,
    directory,
    metrics: new SelfMetrics('bench'),
    log,
    server: new SharedServer(app),
  });
  await collector.start();
  const drain = new Drain({
    spool,
    writer: new InfluxV1Writer({ url: influxUrl, database }),
    log,
    flushIntervalMs: 100,
  });
  drain.start();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    async stop() {
      await collector.stop(2000);
      await app.close();
      await drain.stop(2000);
      spool.close();
      db.close();
    },
  };
}

/** One field every point of each measurement has. */
const ALWAYS = {
  host_cpu: 'usage_pct',
  host_memory: 'total_bytes',
  host_disk: 'size_bytes',
  host_net: 'rx_bytes',
  host_system: 'uptime_s',
};

async function waitFor(url: string, database: string, points: number): Promise<void> {
  const query = new InfluxQuery({ url, database });
  const deadline = Date.now() + 600_000;
  for (;;) {
    let n = 0;
    for (const [m, field] of Object.entries(ALWAYS)) {
      const series = await query.query(`SELECT COUNT(${field}) FROM ${m}`).catch(() => []);
      n += Number(series[0]?.values[0]?.[1] ?? 0);
    }
    if (n >= points) return;
    if (Date.now() > deadline) throw new Error(`only ${n} of ${points} points arrived in ${database}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const GOAL_RATIO = 0.6;

/** For `npm run bench`. */
export async function run(): Promise<Result> {
  const r = await measure();
  return {
    name: `agent uplink into influxd (${r.agents} agents, ${r.points.toLocaleString('en-US')} points, median of ${r.rounds} paired rounds) vs the server pipeline directly`,
    ours: r.uplink,
    reference: r.direct,
    ratio: r.ratio,
    goals: [{ on: 'ratio', atLeast: GOAL_RATIO }],
    note: `rounds ${r.ratios.map((x) => x.toFixed(3)).join(', ')}; server RSS per connected agent ≈ ${r.rssPerAgentKb.toFixed(1)} KB`,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await run();
  console.log(r.name);
  console.log(`  through the uplink into influxd   ${figure(r.ours).padStart(10)} points/s`);
  console.log(`  server pipeline directly (ref.)   ${figure(r.reference).padStart(10)} points/s`);
  console.log(`  ratio ${figure(r.ratio)}x: ${verdict(r)}; ${r.note}`);
}
