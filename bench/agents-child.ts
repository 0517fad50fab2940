/**
 * Child processes of bench/agents.ts, one role each:
 *
 *   node --expose-gc --import tsx bench/agents-child.ts server <job>   the runtime as serve runs it, agent plugin
 *   node --import tsx bench/agents-child.ts agents <job>              a share of the simulated agents
 *
 * The server registers the fleet in a SQLite inventory on its first start (each agent with an
 * `agent_token` of its own, its terminals behind it: the agent simulator's devices), spools into a
 * real spool and drains into the influxd the parent started; started again on the same files and
 * port, it is serve after a restart. It prints {"event":"ready","port":N,"tokens":{...}} once it
 * listens (its RSS baseline taken before), and answers lines on stdin: `status` (agents attached,
 * points written to influxd so far, points waiting in the spool), `memory` (RSS growth per attached agent, after GC).
 *
 * An agents child connects its agents (SimulatedAgent: two in-memory TC-200s each, the real
 * agent protocol, reconnecting with the agents' jittered backoff), then has each report every
 * `interval_ms`, spread evenly over the interval, timing every report until its ack. Stdin
 * `window` starts a measuring window; `acks` answers the ack times (ms) since then.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { openInventory } from '../collector/inventory/index.ts';
import { Drain } from '../collector/pipeline/drain.ts';
import { InfluxV1Writer } from '../collector/pipeline/influx-writer.ts';
import { encodeLine } from '../collector/pipeline/line-protocol.ts';
import { Spool } from '../collector/pipeline/spool.ts';
import { openStateDb } from '../collector/pipeline/state-db.ts';
import { Collector } from '../collector/runtime/collector.ts';
import { SelfMetrics } from '../collector/runtime/self-metrics.ts';
import { SharedServer } from '../collector/runtime/shared-server.ts';
import { plugins } from '../plugins/index.ts';
import { SimulatedAgent } from '../plugins/agent/simulated-agent.ts';
import simulator, { terminalModel } from '../plugins/agent/simulator.ts';
import { emit } from './bench-child.ts';
import { memoryParts, rssKb } from './process-memory.ts';

export interface ServerJob {
  dir: string;
  agents: number;
  terminals_per_agent: number;
  influx_url: string;
  database: string;
  /** 0 on the first start; the same port again after a restart. */
  port: number;
}
export interface AgentsJob {
  url: string;
  /** This child's agents and their tokens. */
  tokens: Record<string, string>;
  terminals_per_agent: number;
  interval_ms: number;
  /** Agents connecting at once. */
  connect_concurrency: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const options = (job: { terminals_per_agent: number }) => ({
  prefix: 'bench-agent-',
  terminals_per_agent: String(job.terminals_per_agent),
});
/** Lines on stdin, each answered by `answer`. */
const commands = (answer: (command: string) => void) =>
  createInterface({ input: process.stdin }).on('line', (l) => answer(l.trim()));

async function server(job: ServerJob) {
  mkdirSync(job.dir, { recursive: true });
  const db = openStateDb(join(job.dir, 'state.db'));
  const inventory = openInventory({ path: join(job.dir, 'fleetpulse.db'), env: {} });
  const devices = simulator.devices!(job.agents, options(job));
  const agentIds = devices.filter((d) => d.credential === 'agent_token').map((d) => d.id);
  const tokens: Record<string, string> = {};
  if (!inventory.directory.lookup(agentIds[0])) {
    const imported = inventory.devices.importDevices(
      devices.map(({ id, kind, model, firmware, gateway }, i) => ({
        row: i + 1,
        device: { id, kind, model, firmware, gateway },
      })),
      'create',
    );
    if (!imported.ok) throw new Error(`registering the fleet failed: ${JSON.stringify(imported.errors.slice(0, 3))}`);
    inventory.db.transaction(() => {
      for (const id of agentIds) tokens[id] = inventory.credentials.issue(id, 'agent_token').secret;
    })();
  }
  const spool = new Spool({ db });
  const log = pino({ level: 'warn' });
  const loggerInstance: FastifyBaseLogger = log;
  const app = Fastify({ loggerInstance });
  const shared = new SharedServer(app);
  void app.register(async (api) => shared.mountApiRoutes(api), { prefix: '/api/v1' });
  const collector = new Collector({
    place: 'serve',
    plugins,
    pluginConfig: {},
    sink: spool,
    db,
    pluginDb: inventory.db,
    directory: inventory.directory,
    metrics: new SelfMetrics('bench'),
    log,
    server: shared,
  });
  let written = 0;
  const drain = new Drain({
    spool,
    writer: new InfluxV1Writer({ url: job.influx_url, database: job.database }),
    log,
    metrics: { written: (n) => (written += n), writeError: () => {}, deadLettered: () => {} },
  });
  await collector.start();
  drain.start();
  // The baseline: everything but the agents' connections (the inventory's records included).
  await sleep(3000);
  const baseline = rssKb();
  const partsBaseline = memoryParts();
  const attached = () => {
    let n = 0;
    for (const id of agentIds) if (collector.bus.isAttached(id)) n++;
    return n;
  };
  await app.listen({ host: '127.0.0.1', port: job.port });
  emit({ event: 'ready', port: (app.server.address() as { port: number }).port, tokens });
  commands((c) => {
    if (c === 'status')
      emit({ event: 'status', attached: attached(), written, backlog: spool.size().points, at: Date.now() });
    else if (c === 'memory') {
      const n = attached();
      const parts = memoryParts();
      emit({
        event: 'memory',
        attached: n,
        rss_per_agent_kb: (rssKb() - baseline) / n,
        rss_mb: process.memoryUsage().rss / 2 ** 20,
        parts_per_agent_kb: Object.fromEntries(
          Object.entries(parts).map(([k, v]) => [k, Math.round(((v - (partsBaseline[k] ?? 0)) / n) * 10) / 10]),
        ),
      });
    }
  });
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  // As serve stops: the plugins (and their sockets) first, then what is spooled is drained.
  await collector.stop(2000);
  await app.close();
  await drain.stop(5000);
  spool.close();
  db.close();
  inventory.close();
}

async function agents(job: AgentsJob) {
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.stdin.once('close', () => stop.abort()); // the parent went away
  const ids = Object.keys(job.tokens);
  const fleet = ids.map(
    (id) =>
      new SimulatedAgent({
        url: job.url,
        id,
        token: job.tokens[id],
        signal: stop.signal,
        encode: encodeLine,
        terminals: Array.from({ length: job.terminals_per_agent }, (_, k) =>
          terminalModel(options(job), Number(id.slice(id.lastIndexOf('-') + 1)) - 1, k),
        ),
      }),
  );
  let next = 0;
  const connectOne = async (): Promise<void> => {
    while (next < fleet.length) await fleet[next++].connect();
  };
  await Promise.all(Array.from({ length: job.connect_concurrency }, connectOne));
  emit({ event: 'connected', agents: fleet.length });
  let acks: number[] = [];
  commands((c) => {
    if (c === 'window') acks = [];
    else if (c === 'acks') emit({ event: 'acks', acks });
  });
  // Each agent reports every interval, the agents spread evenly over it, as real ones drift apart.
  await Promise.all(
    fleet.map(async (agent, i) => {
      await sleep((job.interval_ms * i) / fleet.length);
      while (!stop.signal.aborted) {
        const t = Date.now();
        const sent = performance.now();
        const connected = agent.uplink.connected;
        await agent.report(t);
        if (connected && agent.uplink.connected) acks.push(performance.now() - sent);
        await sleep(Math.max(0, job.interval_ms - (Date.now() - t)));
      }
    }),
  );
  await Promise.all(fleet.map((a) => a.close()));
}

const [role, jobFile] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobFile, 'utf8'));
const run = role === 'server' ? server(job) : role === 'agents' ? agents(job) : Promise.reject(new Error(role));
run.then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
