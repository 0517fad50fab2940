import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { InvalidCommand } from '../../collector/commands/command-bus.ts';
import { diskFullLog } from '../../collector/pipeline/disk-full.ts';
import { Drain } from '../../collector/pipeline/drain.ts';
import { DEFAULT_LINES_PER_ROW, Spool } from '../../collector/pipeline/spool.ts';
import { openStateDb } from '../../collector/pipeline/state-db.ts';
import { UplinkWriter } from '../../collector/pipeline/uplink-writer.ts';
import { Collector } from '../../collector/runtime/collector.ts';
import { DataDirLocked, lockDataDir } from '../../collector/runtime/data-dir-lock.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { DeviceUnreachable, MemoryDirectory, PluginConfigError } from '../../collector/sdk/index.ts';
import { plugins } from '../../plugins/index.ts';
import { ConfigError } from '../config.ts';
import { loadAgentConfig, type AgentConfig } from '../agent-config.ts';
import { parseFlags, usageExit } from '../args.ts';
import { createLogger } from '../logger.ts';
import { untilShutdown } from '../shutdown.ts';

const USAGE = `usage: fleetpulse agent --config agent.yaml

Runs the edge agent on a store or venue PC: the edge plugins (host metrics, TC-200 terminals,
local session enforcement) with a durable outbox under data_dir, uplinked over one WebSocket to
fleetpulse serve (agent.server), authenticated with the agent's token (agent.token, env
FLEETPULSE_AGENT_TOKEN, or agent.token_file). Points wait in the outbox while the server is
unreachable and are sent, in order, when it is back. See plugins/agent/agent.sample.yaml.`;

export default async function agent(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, USAGE, { config: { type: 'string', short: 'c' } });
  if (!flags) return usageExit(argv);
  const file = flags.values.config ?? process.env.FLEETPULSE_AGENT_CONFIG;
  if (!file) {
    console.error(`fleetpulse agent: --config is required\n\n${USAGE}`);
    return 2;
  }
  let config: AgentConfig;
  let token: string;
  let ca: Buffer | undefined;
  try {
    config = loadAgentConfig(file);
    token = agentToken(config);
    ca = uplinkCa(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`fleetpulse agent: invalid configuration: ${err.message}`);
    return 2;
  }
  const log = createLogger(config.log).child({ agent: config.agent.id });
  mkdirSync(config.data_dir, { recursive: true });
  let lock;
  try {
    // Two agents on one outbox would send every point twice and fight over its rows.
    lock = lockDataDir(config.data_dir);
  } catch (err) {
    if (!(err instanceof DataDirLocked)) throw err;
    console.error(`fleetpulse agent: ${err.message}`);
    return 2;
  }

  const metrics = new SelfMetrics();
  const db = openStateDb(join(config.data_dir, 'agent.db'));
  const outbox = new Spool({
    db,
    maxBytes: config.outbox.max_bytes,
    whenFull: config.outbox.when_full,
    diskReserveBytes: config.outbox.disk_reserve_bytes,
    linesPerRow: Math.min(DEFAULT_LINES_PER_ROW, config.outbox.batch_size),
    onDrop: (n, reason) => metrics.pointsDropped.labels(reason).inc(n),
    onDiskFull: (full, err) => diskFullLog(log, full, err),
  });
  metrics.spoolSize = () => outbox.size();
  const edgePlugins = plugins.filter((p) => p.runs_in.includes('agent'));
  // Devices the edge plugins meet are accepted here; the server's inventory decides for real.
  const directory = new MemoryDirectory(new Set(edgePlugins.flatMap((p) => p.kinds)));

  let collector: Collector;
  try {
    collector = new Collector({
      place: 'agent',
      plugins,
      pluginConfig: withAgentDevice(config),
      sink: outbox,
      db,
      pluginDb: db,
      directory,
      metrics,
      log,
      onStartFailure: 'retry',
      selfMetricsIntervalS: 60,
    });
  } catch (err) {
    if (!(err instanceof PluginConfigError)) throw err;
    console.error(`fleetpulse agent: invalid configuration: ${err.message}`);
    outbox.close();
    db.close();
    lock.release();
    return 2;
  }

  const announcer = new DeviceAnnouncer(collector, directory);
  const uplink = new UplinkWriter({
    url: config.agent.server,
    agentId: config.agent.id,
    token,
    ca,
    log: log.child({ component: 'uplink' }),
    ackTimeoutMs: config.uplink.ack_timeout_s * 1000,
    connectWaitMs: config.uplink.connect_wait_s * 1000,
    backoff: { initialMs: config.uplink.reconnect_initial_ms, maxMs: config.uplink.reconnect_max_ms },
    onConnect: () => announcer.announce(uplink, true),
    onMessage: (msg) => void relayCommand(collector, uplink, msg, log),
    // Refused by the server, so lost: counted like the outbox's own drops.
    onRefused: (reason, n) => metrics.pointsDropped.labels(`refused_${reason}`).inc(n),
  });
  const drain = new Drain({
    spool: outbox,
    writer: uplink,
    log: log.child({ component: 'outbox' }),
    batchSize: config.outbox.batch_size,
    flushIntervalMs: config.outbox.flush_interval_ms,
    concurrency: 2,
    backoff: { initialMs: 500, maxMs: config.uplink.reconnect_max_ms },
    metrics: metrics.drainMetrics(),
  });

  try {
    await collector.start();
  } catch (err) {
    console.error(`fleetpulse agent: start-up failed: ${(err as Error).message}`);
    await collector.stop(1000);
    outbox.close();
    db.close();
    lock.release();
    return 1;
  }
  uplink.start();
  drain.start();
  const announceTimer = setInterval(() => announcer.announce(uplink, false), config.uplink.announce_interval_s * 1000);
  log.info(
    { server: config.agent.server, plugins: collector.planned, outbox: outbox.size() },
    'fleetpulse agent is running',
  );

  return untilShutdown(log, async (signal) => {
    log.info({ signal }, 'stopping: flushing the outbox');
    clearInterval(announceTimer);
    await collector.stop(5000);
    await drain.stop(config.outbox.shutdown_flush_s * 1000);
    await uplink.close();
    const left = outbox.size();
    outbox.close();
    db.close();
    lock.release();
    log.info({ leftInOutbox: left.points }, 'stopped');
  });
}

function agentToken(config: AgentConfig): string {
  const a = config.agent;
  if (a.token) return a.token;
  if (process.env.FLEETPULSE_AGENT_TOKEN) return process.env.FLEETPULSE_AGENT_TOKEN;
  if (a.token_file) {
    try {
      const t = readFileSync(a.token_file, 'utf8').split('\n')[0].trim();
      if (t) return t;
    } catch (err) {
      throw new ConfigError(`agent.token_file: cannot read ${a.token_file}: ${(err as Error).message}`);
    }
    throw new ConfigError(`agent.token_file: ${a.token_file} is empty`);
  }
  throw new ConfigError('agent.token: no token (set agent.token, env FLEETPULSE_AGENT_TOKEN, or agent.token_file)');
}

function uplinkCa(config: AgentConfig): Buffer | undefined {
  if (!config.uplink.ca) return undefined;
  try {
    return readFileSync(config.uplink.ca);
  } catch (err) {
    throw new ConfigError(`uplink.ca: cannot read ${config.uplink.ca}: ${(err as Error).message}`);
  }
}

/** The host plugin's device is this agent's PC unless configured otherwise. */
function withAgentDevice(config: AgentConfig): Record<string, unknown> {
  const sections = { ...config.plugins };
  const host = sections.host;
  if (host === undefined || (typeof host === 'object' && host !== null && !Array.isArray(host))) {
    const h = (host ?? {}) as Record<string, unknown>;
    if (h.device === undefined) sections.host = { ...h, device: config.agent.id };
  }
  return sections;
}

/** Tells the server which devices this agent reaches and what commands each takes. */
class DeviceAnnouncer {
  private last = '';
  constructor(
    private readonly collector: Collector,
    private readonly directory: MemoryDirectory,
  ) {}

  announce(uplink: UplinkWriter, always: boolean): void {
    const devices = [...this.directory.all()]
      .filter((d) => this.collector.bus.isAttached(d.id))
      .map((d) => ({
        id: d.id,
        kind: d.kind,
        model: d.model,
        firmware: d.firmware,
        commands: this.collector.bus.commandsFor(d.id) ?? {},
      }));
    // TypeBox schemas are JSON Schema; the JSON round trip drops the TypeBox-only symbols.
    const text = JSON.stringify({ t: 'devices', devices });
    if (!always && text === this.last) return;
    if (uplink.send(JSON.parse(text))) this.last = text;
  }
}

/** A command from the server, for this PC or a device behind it: run it here, send the result up. */
async function relayCommand(
  collector: Collector,
  uplink: UplinkWriter,
  msg: Record<string, unknown>,
  log: Logger,
): Promise<void> {
  if (
    msg.t !== 'command' ||
    typeof msg.id !== 'string' ||
    typeof msg.device !== 'string' ||
    typeof msg.name !== 'string'
  ) {
    log.warn({ type: msg.t }, 'unexpected message from the server; ignored');
    return;
  }
  const id = msg.id;
  let reply: Record<string, unknown>;
  try {
    const outcome = await collector.bus.dispatch(msg.device, { id, name: msg.name, params: msg.params });
    reply = { t: 'result', id, status: outcome.status, result: outcome.result, error: outcome.error };
  } catch (err) {
    const status = err instanceof InvalidCommand ? 'rejected' : 'failed';
    if (!(err instanceof InvalidCommand || err instanceof DeviceUnreachable))
      log.error({ err, command: msg.name }, 'command failed at the edge');
    reply = { t: 'result', id, status, error: (err as Error).message };
  }
  if (!uplink.send(reply)) log.warn({ command: msg.name, id }, 'uplink lost before the result could be sent');
}
