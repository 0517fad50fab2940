import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  AccessTable,
  apiPlugin,
  bootstrapAdminKey,
  installNetworkAllowList,
  upgradeNetworkAllowList,
} from '../../api/index.ts';
import { uiPlugin } from '../../api/ui/plugin.ts';
import { UiSessions } from '../../api/ui/sessions.ts';
import { logRequests } from '../../api/request-log.ts';
import { measureRequests } from '../../api/request-metrics.ts';
import { INVENTORY_HISTORY, SPOOL_HISTORY, startHistoryRetention } from '../../collector/inventory/history.ts';
import { BackupSchedule } from '../../collector/operations/backup-schedule.ts';
import { Backups } from '../../collector/operations/backups.ts';
import { isTimezone, openInventory } from '../../collector/inventory/index.ts';
import { Drain } from '../../collector/pipeline/drain.ts';
import { diskFullLog } from '../../collector/pipeline/disk-full.ts';
import { PipelineHealth } from '../../collector/pipeline/health.ts';
import { embeddedInfluxdUrl, InfluxdNotFoundError } from '../../collector/pipeline/local-influxd.ts';
import { freePort, portIsFree } from '../../collector/pipeline/ports.ts';
import { DEFAULT_LINES_PER_ROW, Spool } from '../../collector/pipeline/spool.ts';
import { openStateDb } from '../../collector/pipeline/state-db.ts';
import { Collector } from '../../collector/runtime/collector.ts';
import { DataDirLocked, lockDataDir } from '../../collector/runtime/data-dir-lock.ts';
import { Downsampler } from '../../collector/runtime/downsampler.ts';
import { runtimeMeasurements } from '../../collector/runtime/measurements.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { SharedServer } from '../../collector/runtime/shared-server.ts';
import { PluginConfigError } from '../../collector/sdk/index.ts';
import { plugins } from '../../plugins/index.ts';
import { parseFlags, usageExit } from '../args.ts';
import { influxBackupSource } from '../backup-source.ts';
import { ConfigError, inventoryPath, loadConfig, sourceOf, type Config, type ConfigFlags } from '../config.ts';
import { openInfluxTarget } from '../influx-target.ts';
import { createLogger } from '../logger.ts';
import { escalationOptions, maintenanceCalendar, startOperations } from '../operations.ts';
import { untilShutdown } from '../shutdown.ts';
import { reloadOnSighup, transportOf } from '../transport.ts';

const USAGE = `usage: fleetpulse serve [--config fleetpulse.yaml] [--port 8080] [--data-dir ./data]

Runs the HTTP server (API, /healthz, /metrics, device connections), the collector and the
server-side plugins. Without a configuration it uses the embedded defaults: port 8080, data in
./data, and a local influxd from PATH on 127.0.0.1:18086 when influx.url is not set.

  -c, --config <file>   the configuration (env FLEETPULSE_CONFIG)
  --port <port>         http.port; overrides the file and the environment
  --data-dir <dir>      data_dir; overrides the file and the environment

Environment overrides: FLEETPULSE_<KEY> and FLEETPULSE_<SECTION>__<KEY>, e.g.
FLEETPULSE_DATA_DIR=/srv/fleetpulse, FLEETPULSE_HTTP__PORT=9090. See docs/configuration.md.
FLEETPULSE_ADMIN_KEY creates the first admin API key on first start.`;

/**
 * The composition root of the server: configuration, the data dir's lock (one owner), the ports,
 * then everything that opens only local files (inventory, spool, plugin configs), all refused
 * with exit 2 before anything starts; then InfluxDB, the plugins, the API and the listener.
 * Shutdown runs the other way round.
 */
export default async function serve(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, USAGE, {
    config: { type: 'string', short: 'c' },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
  });
  if (!flags) return usageExit(argv);
  const overrides: ConfigFlags = {};
  if (flags.values.port !== undefined) overrides['http.port'] = { flag: '--port', value: flags.values.port };
  if (flags.values['data-dir'] !== undefined)
    overrides.data_dir = { flag: '--data-dir', value: flags.values['data-dir'] };
  let config: Config;
  try {
    config = loadConfig(flags.values.config ?? process.env.FLEETPULSE_CONFIG, process.env, overrides);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return refuse(`invalid configuration: ${err.message}`, 2);
  }
  if (config.backup.timezone && !isTimezone(config.backup.timezone))
    return refuse(`invalid configuration: backup.timezone: unknown time zone '${config.backup.timezone}'`, 2);
  let transport;
  try {
    transport = transportOf(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return refuse(`invalid configuration: ${err.message}`, 2);
  }
  try {
    escalationOptions(config.operations.escalation); // checked again when operations start
  } catch (err) {
    return refuse(`invalid configuration: ${(err as Error).message}`, 2);
  }
  const log = createLogger(config.log);
  mkdirSync(config.data_dir, { recursive: true });
  let lock;
  try {
    lock = lockDataDir(config.data_dir);
  } catch (err) {
    if (!(err instanceof DataDirLocked)) throw err;
    return refuse(err.message, 2);
  }
  // Both ports are checked before anything starts; what takes one in between fails at listen.
  const embeddedPort = config.influx.url ? undefined : config.influx.embedded_port || (await freePort());
  for (const [key, host, port] of [
    ['http.port', config.http.host, config.http.port],
    ['influx.embedded_port', '127.0.0.1', embeddedPort],
  ] as const) {
    if (port && !(await portIsFree(port, host))) {
      // A leftover influxd of a crashed owner of this data dir holds it: it is stopped at start.
      if (
        key === 'influx.embedded_port' &&
        (await embeddedInfluxdUrl(join(config.data_dir, 'influxdb'))) === `http://127.0.0.1:${port}`
      )
        continue;
      lock.release();
      const source = sourceOf(config, key);
      return refuse(
        `${source ? `${source} (${key})` : key}: ${host}:${port} is already in use; choose another port`,
        2,
      );
    }
  }

  let inventory;
  try {
    inventory = openInventory({
      path: inventoryPath(config),
      autoAccept: config.inventory.auto_accept,
      pending: { max: config.inventory.max_pending, perSourcePerMin: config.inventory.pending_per_source_per_min },
    });
  } catch (err) {
    lock.release();
    return refuse(`cannot open the inventory: ${(err as Error).message}`, 2);
  }
  const metrics = new SelfMetrics();
  const db = openStateDb(join(config.data_dir, 'spool.db'));
  const spool = new Spool({
    db,
    maxBytes: config.pipeline.spool_max_bytes,
    whenFull: config.pipeline.when_full,
    diskReserveBytes: config.pipeline.disk_reserve_bytes,
    commitIntervalMs: config.pipeline.commit_interval_ms,
    linesPerRow: Math.min(DEFAULT_LINES_PER_ROW, config.pipeline.batch_size),
    onDrop: (n, reason) => metrics.pointsDropped.labels(reason).inc(n),
    onDiskFull: (full, err) => diskFullLog(log, full, err),
  });
  metrics.spoolSize = () => spool.size();
  const closeLocal = () => {
    spool.close();
    db.close();
    inventory.close();
    lock.release();
  };
  // One port: with http.tls it speaks only HTTPS and WSS. The https server is typed as http's
  // (Fastify's type follows the option), which is all SharedServer and the plugins use.
  const app = Fastify({
    loggerInstance: log.child({ component: 'http' }),
    disableRequestLogging: true,
    bodyLimit: config.http.body_limit_bytes,
    trustProxy: transport.proxies.trust,
    ...(transport.tls && { https: transport.tls }),
  }) as unknown as FastifyInstance;
  logRequests(app);
  measureRequests(app, (labels, seconds) => metrics.httpRequest(labels, seconds));
  const refusedNetwork = () => metrics.httpRefused.labels('network_not_allowed').inc();
  const server = new SharedServer(app, {
    proxies: transport.proxies,
    gate: upgradeNetworkAllowList(transport.allowed, refusedNetwork, app.log),
    tls: transport.tls,
    proxied: config.http.trust_proxy.length > 0,
  });
  installNetworkAllowList(app, transport.allowed, refusedNetwork);
  const stopReloading = transport.tls
    ? reloadOnSighup(server, config.http.tls, log, (ok) => metrics.tlsReloads.labels(ok ? 'ok' : 'failed').inc())
    : () => {};
  const maintenance = maintenanceCalendar(inventory);

  let collector: Collector;
  try {
    collector = new Collector({
      place: 'serve',
      plugins,
      pluginConfig: config.plugins,
      sink: spool,
      db,
      pluginDb: inventory.db,
      audit: (row) => inventory.audit.recordDevice(row),
      directory: inventory.directory,
      metrics,
      log,
      server,
      onStartFailure: config.plugin_start_failure,
      liveness: { ...config.liveness, maintenance: maintenance.calendar },
    });
  } catch (err) {
    if (!(err instanceof PluginConfigError)) throw err;
    closeLocal();
    return refuse(`invalid configuration: ${err.message}`, 2);
  }

  let influx;
  try {
    influx = await openInfluxTarget(config, log, embeddedPort);
  } catch (err) {
    if (!(err instanceof InfluxdNotFoundError)) throw err;
    closeLocal();
    return refuse(err.message, 1);
  }
  const health = new PipelineHealth({
    spool,
    dataDir: config.data_dir,
    ping: () => influx.ping(),
    maxWriteLagS: config.health.max_write_lag_s,
  });
  metrics.health = () => health.snapshot();
  const drainMetrics = metrics.drainMetrics();
  const drain = new Drain({
    spool,
    writer: influx.writer,
    log: log.child({ component: 'drain' }),
    batchSize: config.pipeline.batch_size,
    flushIntervalMs: config.pipeline.flush_interval_ms,
    concurrency: config.pipeline.concurrency,
    prepare: () => influx.prepare(),
    metrics: {
      ...drainMetrics,
      written: (n, s) => (health.written(), drainMetrics.written(n, s)),
      writeError: (kind) => (kind === 'retry' && health.writeFailed(), drainMetrics.writeError(kind)),
    },
  });
  if (embeddedPort) {
    // For people: where a local Grafana or an ad-hoc query finds the data (docs/grafana.md).
    console.error(`fleetpulse serve: embedded InfluxDB ${influx.url}, database ${config.influx.database}`);
  }

  let operations;
  try {
    // Durable commands waiting from the last run resume here; they wait for their devices.
    operations = startOperations({
      inventory,
      collector,
      plugins,
      influx: influx.query,
      maintenance,
      log,
      config: config.operations,
    });
  } catch (err) {
    await influx.stop();
    closeLocal();
    return refuse(`invalid configuration: ${(err as Error).message}`, 2);
  }
  const emit = collector.emitter.system.bind(collector.emitter);

  const backups = new Backups({
    dir: config.backup.dir || join(config.data_dir, 'backups'),
    keep: config.backup.keep,
    inventory: inventory.db,
    influx: influxBackupSource(config),
    log: log.child({ component: 'backup' }),
    onResult: (result) => {
      metrics.backups.labels(result).inc();
      if (result === 'ok') metrics.lastBackup.set(Date.now() / 1000);
    },
  });
  const backupSchedule =
    config.backup.schedule === 'daily'
      ? new BackupSchedule({
          at: config.backup.at,
          timezone: config.backup.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone,
          run: () => backups.take(),
          log,
        })
      : undefined;

  const bootstrap = await bootstrapAdminKey(inventory);
  if (bootstrap.created) log.info({ key: bootstrap.key.id }, 'created the admin API key from FLEETPULSE_ADMIN_KEY');
  if (bootstrap.warning) log.warn(bootstrap.warning);

  app.get('/healthz', { config: { quietLog: true } }, async (_request, reply) => {
    const report = await health.report();
    return reply.code(report.status === 'ok' ? 200 : 503).send({ ...report, plugins: collector.running });
  });
  app.get('/metrics', { config: { quietLog: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  const access = new AccessTable();
  const uiSessions = new UiSessions(inventory.apiKeys, config.ui.session_hours * 3_600_000);
  const authFailures = { max: config.http.auth_failures_per_min, timeWindowMs: 60_000 };
  // Not awaited: the API loads when the server gets ready, after the plugins have started and
  // declared their own API routes, which it mounts inside its scope.
  void app.register(apiPlugin, {
    prefix: '/api/v1',
    inventory,
    kinds: collector.kinds,
    checkDevice: (device) => collector.checkDevice(device),
    influx: influx.query,
    operations,
    backups: { backups, nextBackupAt: () => backupSchedule?.next },
    limits: {
      bodyLimit: config.http.body_limit_bytes,
      authFailures,
    },
    onAuthFailure: (reason) => metrics.authFailures.labels(reason).inc(),
    onDatabaseError: (code) => metrics.inventoryErrors.labels(code).inc(),
    access,
    sessions: uiSessions,
    extend: (api) => server.mountApiRoutes(api),
  });
  void app.register(uiPlugin, {
    prefix: '/ui',
    server: app,
    apiPrefix: '/api/v1',
    inventory,
    operations,
    sessions: uiSessions,
    access,
    authFailures,
  });

  try {
    await collector.start();
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'start-up failed');
    await operations.stop(1000);
    await collector.stop(1000);
    await app.close();
    await influx.stop();
    closeLocal();
    return 1;
  }
  drain.start();
  health.start();
  backupSchedule?.start();
  const retention = startHistoryRetention({
    stores: [
      { db: inventory.db, tables: INVENTORY_HISTORY },
      { db, tables: SPOOL_HISTORY },
    ],
    days: config.inventory.history_days,
    onPruned: (table, rows) => {
      metrics.historyPruned.labels(table).inc(rows);
      log.info({ table, rows }, 'history pruned (inventory.history_days)');
    },
    onError: (err) => log.error({ err: err.message }, 'history pruning failed'),
  });
  // Rollups are derived from what InfluxDB holds (forwarded edge points included) and written
  // back through the spool like any runtime point.
  const downsampler = new Downsampler({
    query: influx.query,
    write: emit,
    measurements: [...runtimeMeasurements, ...plugins.flatMap((p) => p.measurements)],
    log: log.child({ component: 'downsampler' }),
    metrics,
    intervalS: config.downsampler.interval_s,
    recentHours: config.downsampler.recent_hours,
    backfillHours: config.downsampler.backfill_hours,
    lateHours: config.downsampler.late_hours,
  });
  if (config.downsampler.enabled) {
    collector.emitter.late = downsampler;
    downsampler.start();
  }
  log.info({ address: app.server.address(), plugins: collector.planned }, 'fleetpulse serve is running');

  return untilShutdown(log, async (signal) => {
    log.info({ signal }, 'stopping: closing connections, flushing the spool');
    stopReloading();
    influx.cancelQueries();
    backupSchedule?.stop();
    retention.stop();
    health.stop();
    await downsampler.stop();
    await operations.stop();
    await collector.stop();
    await app.close();
    await drain.stop(config.pipeline.shutdown_flush_s * 1000);
    const left = spool.size();
    await influx.stop();
    closeLocal();
    log.info({ leftInSpool: left.points }, 'stopped');
  });
}

function refuse(message: string, code: number): number {
  console.error(`fleetpulse serve: ${message}`);
  return code;
}
