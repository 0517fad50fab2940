/**
 * The edge agent end to end: a serve-like server in this process (Collector + SharedServer +
 * Spool + Drain into a real influxd) and the REAL agent process (`fleetpulse agent`), talking
 * over a real WebSocket on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump } from 'js-yaml';
import WebSocket from 'ws';
import { Drain } from '../collector/pipeline/drain.ts';
import { InfluxV1Writer } from '../collector/pipeline/influx-writer.ts';
import { freePort } from '../collector/pipeline/local-influxd.ts';
import { openStateDb, Spool } from '../collector/pipeline/spool.ts';
import { Collector } from '../collector/runtime/collector.ts';
import { SelfMetrics } from '../collector/runtime/self-metrics.ts';
import { SharedServer } from '../collector/runtime/shared-server.ts';
import { MemoryDirectory } from '../collector/sdk/index.ts';
import agentPlugin from '../plugins/agent/index.ts';
import { plugins } from '../plugins/index.ts';
import { startPtyPair, startTerminal, type PtyPair, type SimulatedTerminal } from '../plugins/tc200/simulator.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
const AGENT = 'store-1-pc';
const TOKEN = 'agent-secret-1';
/** The TC-200 part runs once the tc200 plugin is in plugins/index.ts (the agent loads that list). */
const TC200 = plugins.some((p) => p.name === 'tc200');
const TERMINAL = 'TC2-E2E-0001';
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/** The server side: everything of `serve` that an agent meets, restartable on the same port. */
class Server {
  readonly metrics = new SelfMetrics('test');
  readonly directory = new MemoryDirectory()
    .add({ id: AGENT, kind: 'pc', model: 'store-pc', customer: 'acme', site: 'acme-store-1' }, { type: 'agent_token', value: TOKEN })
    .add({ id: 'other-pc', kind: 'pc', customer: 'globex', site: 'globex-1' }, { type: 'agent_token', value: 'other-secret' })
    .add({ id: TERMINAL, kind: 'terminal', model: 'TC-200', customer: 'acme', site: 'acme-store-1', gateway: AGENT })
    .add({ id: 'globex-t1', kind: 'terminal', customer: 'globex', site: 'globex-1', gateway: 'other-pc' });
  collector: Collector | undefined;
  private app: ReturnType<typeof Fastify> | undefined;
  private readonly db;
  readonly spool: Spool;
  private drain: Drain | undefined;

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.db = openStateDb(join(dir, 'server.db'));
    this.spool = new Spool({ db: this.db, commitIntervalMs: 10 });
  }

  startDrain(database: string): void {
    this.drain = new Drain({
      spool: this.spool,
      writer: new InfluxV1Writer({ url: influx.url, database }),
      log,
      flushIntervalMs: 100,
      metrics: this.metrics.drainMetrics(),
    });
    this.drain.start();
  }

  async open(): Promise<void> {
    this.app = Fastify({ loggerInstance: log as FastifyBaseLogger });
    const server = new SharedServer(this.app);
    this.collector = new Collector({
      place: 'serve',
      plugins: [agentPlugin],
      pluginConfig: { agent: { report_interval_s: 30 } },
      sink: this.spool,
      db: this.db,
      pluginDb: this.db,
      directory: this.directory,
      metrics: this.metrics,
      log,
      server,
    });
    await this.collector.start();
    await this.app.listen({ host: '127.0.0.1', port: this.port });
  }

  async close(): Promise<void> {
    await this.collector?.stop(2000);
    await this.app?.close();
    this.collector = undefined;
  }

  async shutdown(): Promise<void> {
    await this.close();
    await this.drain?.stop(5000);
    this.spool.close();
    this.db.close();
  }

  async events(event: string): Promise<number> {
    const m = (await this.metrics.pluginEvents.get()).values.find((v) => v.labels.plugin === 'agent' && v.labels.event === event);
    return m?.value ?? 0;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('fleetpulse agent ↔ serve', () => {
  let dir: string;
  let server: Server;
  let database: string;
  let agent: ChildProcess;
  let agentOutput = '';
  let pty: PtyPair | undefined;
  let terminal: SimulatedTerminal | undefined;
  const lockFile = () => join(dir, 'locked');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpulse-agent-e2e-'));
    database = await influx.freshDatabase();
    server = new Server(dir, await freePort());
    await server.open();
    server.startDrain(database);
    const config = {
      agent: { id: AGENT, server: `ws://127.0.0.1:${server.port}/agent/`, token: TOKEN },
      data_dir: join(dir, 'agent'),
      log: { level: 'info' },
      outbox: { flush_interval_ms: 100, shutdown_flush_s: 10 },
      uplink: { reconnect_initial_ms: 200, reconnect_max_ms: 500, announce_interval_s: 1, ack_timeout_s: 5 },
      plugins: {
        host: {
          interval_s: 1,
          cpu_interval_s: 1,
          reboot_command: ['true'],
          lock_command: ['sh', '-c', `echo locked >> ${lockFile()}`],
          diagnostics_command: ['sh', '-c', 'echo disk ok; echo fan ok'],
          warn_command: ['true'],
        },
      },
    };
    if (TC200) {
      pty = await startPtyPair(dir, 'tc200');
      terminal = startTerminal({ path: pty.device, serial: TERMINAL });
      (config.plugins as Record<string, unknown>).tc200 = { ports: [{ path: pty.host }], status_interval_s: 1, heartbeat_interval_s: 1 };
    }
    writeFileSync(join(dir, 'agent.yaml'), dump(config));
    agent = spawn('node_modules/.bin/tsx', ['bin/fleetpulse.ts', 'agent', '--config', join(dir, 'agent.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.on('data', (d) => (agentOutput += d));
    agent.stderr!.on('data', (d) => (agentOutput += d));
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGKILL');
      await new Promise((r) => agent.once('exit', r));
    }
    await server?.shutdown();
    await terminal?.stop();
    await pty?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const count = (measurement: string) => influx.count(measurement, database);

  it('host metrics reach InfluxDB with the device, customer and site tags of the server inventory', async () => {
    await until('host_memory in InfluxDB', async () => (await count('host_memory')) > 0);
    const series = await influx.query(`SELECT LAST(used_pct) FROM host_memory GROUP BY *`, { db: database });
    expect(series.map((s) => s.tags)).toEqual([{ customer: 'acme', device: AGENT, kind: 'pc', model: 'store-pc', site: 'acme-store-1' }]);
    await until('host_cpu and host_disk', async () => (await count('host_cpu')) > 0 && (await count('host_disk')) > 0);
    const disks = await influx.query(`SHOW TAG VALUES FROM host_disk WITH KEY = "mount"`, { db: database });
    expect(disks[0]!.values.map((v) => v[1])).toContain('/');
    // The edge's own liveness lines become the server's liveness, not a second device_status.
    expect(server.collector!.liveness.state(AGENT)?.state).toBe('online');
  });

  it.skipIf(!TC200)('TC-200 status from the serial port reaches InfluxDB with the terminal, gateway, customer and site tags', async () => {
    await until('terminal_status in InfluxDB', async () => (await count('terminal_status')) > 0);
    const series = await influx.query(`SELECT LAST(state) FROM terminal_status GROUP BY *`, { db: database });
    expect(series.map((s) => s.tags)).toEqual([{ customer: 'acme', device: TERMINAL, gateway: AGENT, kind: 'terminal', model: 'TC-200', site: 'acme-store-1' }]);
  });

  it('runs commands on the agent through the server command bus, results flow back', async () => {
    const bus = server.collector!.bus;
    await until('the agent announced its commands', () => bus.commandsFor(AGENT)?.diagnostics);
    const diag = await bus.dispatch(AGENT, { name: 'diagnostics' });
    expect(diag).toMatchObject({ status: 'succeeded', result: { exit_code: 0, output: 'disk ok\nfan ok\n' } });
    expect(await bus.dispatch(AGENT, { name: 'reboot' })).toMatchObject({ status: 'succeeded' });
    // Validated on the server against the schema the agent announced, before anything is sent.
    await expect(bus.dispatch(AGENT, { name: 'warn', params: { message: 5 } })).rejects.toThrow(/message/);
    await expect(bus.dispatch(AGENT, { name: 'format_disk' })).rejects.toThrow(/unknown command "format_disk"/);
  });

  it('refuses wrong tokens, malformed frames and lines about other agents’ devices, and keeps serving', async () => {
    const url = `ws://127.0.0.1:${server.port}/agent/other-pc`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers: { authorization: 'Bearer wrong' } });
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode!));
      ws.on('error', () => {});
    });
    expect(refused).toBe(401);
    expect(await server.events('refused_bad_secret')).toBe(1);

    const ws = new WebSocket(url, { headers: { authorization: 'Bearer other-secret' } });
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    ws.send('{not json');
    const t = Date.now();
    ws.send(JSON.stringify({ t: 'batch', id: 1, lines: [
      `host_system,device=other-pc uptime_s=5i ${t}`,
      `host_system,device=${AGENT} uptime_s=666i ${t}`, // not behind other-pc: refused
      'no fields here',
      `tc_status,device=globex-t1 state="idle" ${t}`,
    ] }));
    await until('the ack', () => messages.find((m) => m.t === 'ack'));
    expect(messages[0]).toEqual({ t: 'error', error: 'frame is not JSON' });
    expect(messages.find((m) => m.t === 'ack')).toEqual({ t: 'ack', id: 1, accepted: 2, refused: 2 });
    expect(await server.events('malformed_frame')).toBe(1);
    expect(await server.events('malformed_line')).toBe(1);
    expect(await server.events('foreign_device')).toBe(1);
    ws.close();
    await until('the accepted terminal line', async () => (await count('tc_status')) === 1);
    const series = await influx.query(`SELECT * FROM tc_status GROUP BY *`, { db: database });
    expect(series[0]!.tags).toMatchObject({ device: 'globex-t1', gateway: 'other-pc', customer: 'globex', site: 'globex-1', kind: 'terminal' });
    const foreign = await influx.query(`SELECT uptime_s FROM host_system WHERE device = '${AGENT}' AND uptime_s = 666`, { db: database });
    expect(foreign).toEqual([]);
  });

  it('a session that expires while the uplink is cut is still ended by the agent', async () => {
    const bus = server.collector!.bus;
    const endsAt = Date.now() + 2500;
    expect(await bus.dispatch(AGENT, { name: 'session_set', params: { ends_at_ms: endsAt, action: 'lock' } })).toMatchObject({ status: 'succeeded' });
    await server.close(); // the uplink is cut before the end
    await until('the local lock', () => existsSync(lockFile()), 15_000);
    expect(readFileSync(lockFile(), 'utf8')).toBe('locked\n');
    await server.open();
    await until('the enforcement record from the edge', async () => {
      const s = await influx.query(`SELECT event, ends_at_ms FROM host_session WHERE event = 'enforced'`, { db: database });
      return s.length > 0 && s;
    });
  });

  it('an uplink cut loses nothing and doubles nothing', async () => {
    await until('reconnected', () => server.collector!.bus.commandsFor(AGENT)?.lock);
    await server.close();
    await new Promise((r) => setTimeout(r, 3000)); // the agent keeps measuring into its outbox
    await server.open();
    await new Promise((r) => setTimeout(r, 1500));
    // Stop the agent: it flushes its outbox and writes its final self-metrics (points emitted).
    agent.kill('SIGTERM');
    const code = await new Promise((r) => agent.once('exit', r));
    expect(code, agentOutput).toBe(0);
    expect(agentOutput).toContain('uplink lost; points wait in the outbox');

    const emitted = await until('the agent’s final self-metrics', async () => {
      const s = await influx.query(`SELECT LAST(value) FROM fleetpulse_points_emitted_total WHERE device = '${AGENT}' AND plugin = 'host'`, { db: database });
      return s[0]?.values[0]?.[1] as number | undefined;
    });
    let stored = 0;
    await until('every emitted host point in InfluxDB', async () => {
      stored = 0;
      for (const m of ['host_cpu', 'host_memory', 'host_disk', 'host_net', 'host_system', 'host_session']) {
        const s = await influx.query(`SELECT COUNT(*) FROM ${m} WHERE device = '${AGENT}' GROUP BY *`, { db: database });
        // The largest per-field count of each series is its number of points.
        for (const series of s) stored += Math.max(...(series.values[0]!.slice(1) as number[]));
      }
      return stored >= emitted;
    });
    // Every point the agent emitted is stored exactly once (a resent batch overwrote itself);
    // 666 was the foreign line refused above and is not among them.
    expect(stored).toBe(emitted);
  });
});
