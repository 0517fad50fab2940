/**
 * What the edge-agent end-to-end tests share: a serve-like server in the test process (Collector
 * with the agent plugin + SharedServer + Spool + Drain into a real influxd, restartable on the
 * same port), the REAL agent process (`fleetpulse agent`), and the network between them (a TCP
 * relay that can be cut, taken down, or made to lose what the server sends).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, Socket, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { dump } from 'js-yaml';
import pino from 'pino';
import { Drain } from '../../collector/pipeline/drain.ts';
import { InfluxV1Writer } from '../../collector/pipeline/influx-writer.ts';
import { Spool, type SpoolOptions } from '../../collector/pipeline/spool.ts';
import { openStateDb } from '../../collector/pipeline/state-db.ts';
import { Collector } from '../../collector/runtime/collector.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { SharedServer } from '../../collector/runtime/shared-server.ts';
import type { MemoryDirectory } from '../../collector/sdk/index.ts';
import agentPlugin from '../../plugins/agent/index.ts';
import { plugins } from '../../plugins/index.ts';

export const edgePlugins = plugins.filter((p) => p.runs_in.includes('agent'));
import { REPO_ROOT } from './serve-process.ts';

export const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/** The server side: everything of `serve` that an agent meets, restartable on the same port. */
export class AgentServer {
  readonly metrics = new SelfMetrics('test');
  collector: Collector | undefined;
  readonly spool: Spool;
  private app: FastifyInstance | undefined;
  private readonly db;
  private drain: Drain | undefined;

  constructor(
    readonly directory: MemoryDirectory,
    dir: string,
    readonly port: number,
    /** The server spool's size and policy when full (default 1 GiB, drop_oldest). */
    spool: Pick<SpoolOptions, 'maxBytes' | 'whenFull'> = {},
  ) {
    this.db = openStateDb(join(dir, 'server.db'));
    this.spool = new Spool({
      db: this.db,
      commitIntervalMs: 10,
      ...spool,
      onDrop: (n) => this.metrics.pointsDropped.labels('spool_full').inc(n),
    });
  }

  startDrain(influxUrl: string, database: string): void {
    this.drain = new Drain({
      spool: this.spool,
      writer: new InfluxV1Writer({ url: influxUrl, database }),
      log,
      flushIntervalMs: 100,
      metrics: this.metrics.drainMetrics(),
    });
    this.drain.start();
  }

  async open(): Promise<void> {
    const loggerInstance: FastifyBaseLogger = log;
    const app = Fastify({ loggerInstance });
    this.app = app;
    const server = new SharedServer(app);
    this.collector = new Collector({
      place: 'serve',
      // The edge plugins too: what an agent may forward is what they declare.
      plugins: [agentPlugin, ...edgePlugins],
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

  /** `fleetpulse_plugin_events_total{plugin="agent",event}`. */
  async events(event: string): Promise<number> {
    const m = (await this.metrics.pluginEvents.get()).values.find(
      (v) => v.labels.plugin === 'agent' && v.labels.event === event,
    );
    return m?.value ?? 0;
  }

  /** Lines the agent uplink has forwarded into the spool so far, every agent and every resend counted. */
  async forwarded(): Promise<number> {
    return (await this.metrics.pointsEmitted.get()).values.find((v) => v.labels.plugin === 'agent')?.value ?? 0;
  }
}

/**
 * The network between agent and server, a TCP relay on 127.0.0.1: `up` relays both ways;
 * `server_silent` relays what the agent sends but loses what the server sends (acks, commands)
 * once a connection is set up (its HTTP upgrade answer still passes), a half-open link as a NAT
 * timeout or a dying mobile uplink makes it; `down` takes connections and drops them at once.
 * `cut()` resets every connection.
 */
export class NetLink {
  mode: 'up' | 'server_silent' | 'down' = 'up';
  /** Bytes from the server lost in `server_silent`. */
  lostBytes = 0;
  private readonly sockets = new Set<Socket>();
  private server: TcpServer | undefined;
  port = 0;

  constructor(private readonly target: () => number) {}

  async start(): Promise<this> {
    this.server = createServer((agent) => this.relay(agent));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private relay(agent: Socket): void {
    if (this.mode === 'down') return void agent.destroy();
    const server = new Socket();
    this.sockets.add(agent).add(server);
    const end = () => {
      agent.destroy();
      server.destroy();
      this.sockets.delete(agent);
      this.sockets.delete(server);
    };
    let upgraded = false;
    agent.on('data', (d) => server.write(d));
    server.on('data', (d: Buffer) => {
      let pass = d;
      if (!upgraded) {
        const end = d.indexOf('\r\n\r\n');
        upgraded = end >= 0;
        if (upgraded && this.mode === 'server_silent') pass = d.subarray(0, end + 4);
      } else if (this.mode === 'server_silent') pass = d.subarray(0, 0);
      if (pass.length > 0) agent.write(pass);
      this.lostBytes += d.length - pass.length;
    });
    for (const s of [agent, server]) s.on('error', end).on('close', end);
    server.connect(this.target(), '127.0.0.1');
  }
}

/** The real agent process, and everything it printed. */
export class AgentProcess {
  output = '';
  readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(dir: string, config: Record<string, unknown>, name = 'agent') {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, dump(config));
    // `node --import tsx`, not the tsx wrapper: the wrapper SIGKILLs its child 30 ms after relaying
    // a signal (exit 143), so the agent's SIGTERM flush would never be seen (serve-process.ts too).
    this.child = spawn(process.execPath, ['--import', 'tsx', 'bin/fleetpulse.ts', 'agent', '--config', file], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** SIGTERM (the agent flushes its outbox and writes its final self-metrics); resolves with the exit code. */
  stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Points stored per series of `measurement` matching `where`: the largest per-field count of each series. */
export async function storedPoints(
  query: (q: string) => Promise<Array<{ values: unknown[][] }>>,
  measurement: string,
  where: string,
): Promise<number> {
  let n = 0;
  for (const series of await query(`SELECT COUNT(*) FROM ${measurement} WHERE ${where} GROUP BY *`)) {
    n += Math.max(...(series.values[0].slice(1) as number[]));
  }
  return n;
}
