import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server as HttpsServer } from 'node:https';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { apiPlugin, bootstrapAdminKey, installNetworkAllowList } from '../../api/index.ts';
import sessionRoutes from '../../api/routes/sessions/index.ts';
import { SessionScheduler } from '../../collector/commands/session-scheduler.ts';
import { INVENTORY_HISTORY, SPOOL_HISTORY, startHistoryRetention } from '../../collector/inventory/history.ts';
import { BackupSchedule } from '../../collector/operations/backup-schedule.ts';
import { Backups } from '../../collector/operations/backups.ts';
import { isTimezone, openInventory } from '../../collector/inventory/index.ts';
import { Drain } from '../../collector/pipeline/drain.ts';
import { InfluxdNotFoundError } from '../../collector/pipeline/local-influxd.ts';
import { diskFullLog } from '../../collector/pipeline/disk-full.ts';
import { DEFAULT_LINES_PER_ROW, openStateDb, Spool } from '../../collector/pipeline/spool.ts';
import { Collector } from '../../collector/runtime/collector.ts';
import { Downsampler } from '../../collector/runtime/downsampler.ts';
import { runtimeMeasurements } from '../../collector/runtime/measurements.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { SharedServer } from '../../collector/runtime/shared-server.ts';
import { PluginConfigError } from '../../collector/sdk/index.ts';
import { plugins } from '../../plugins/index.ts';
import { parseFlags, usageExit } from '../args.ts';
import { influxBackupSource } from '../backup-source.ts';
import { ConfigError, inventoryPath, loadConfig, type Config } from '../config.ts';
import { openInfluxTarget } from '../influx-target.ts';
import { maintenanceCalendar, startOperations } from '../operations.ts';
import { untilShutdown } from '../shutdown.ts';
import { reloadOnSighup, transportOf } from '../transport.ts';

const USAGE = `usage: fleetpulse serve [--config fleetpulse.yaml]

Runs the HTTP server (API, /healthz, /metrics, device connections), the collector and the
server-side plugins. Without a configuration it uses the embedded defaults: port 8080, data in
./data, and a local influxd from PATH when influx.url is not set. Environment overrides:
FLEETPULSE_<SECTION>__<KEY>, e.g. FLEETPULSE_HTTP__PORT=9090. See docs/configuration.md.
FLEETPULSE_ADMIN_KEY creates the first admin API key on first start.`;

/**
 * The composition root of the server: configuration, then everything that opens only local
 * files (inventory, spool, plugin configs: refused with exit 2 before anything else starts),
 * then InfluxDB, the plugins, the API and the listener. Shutdown runs the other way round.
 */
export default async function serve(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, USAGE, { config: { type: 'string', short: 'c' } });
  if (!flags) return usageExit(argv);
  let config: Config;
  try {
    config = loadConfig(flags.values.config ?? process.env.FLEETPULSE_CONFIG);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return refuse(`invalid configuration: ${err.message}`, 2);
  }
  if (config.backup.timezone && !isTimezone(config.backup.timezone)) return refuse(`invalid configuration: backup.timezone: unknown time zone '${config.backup.timezone}'`, 2);
  let transport;
  try {
    transport = transportOf(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return refuse(`invalid configuration: ${err.message}`, 2);
  }
  const log = pino({ level: config.log.level });
  mkdirSync(config.data_dir, { recursive: true });

  let inventory;
  try {
    inventory = openInventory({
      path: inventoryPath(config),
      autoAccept: config.inventory.auto_accept,
      pending: { max: config.inventory.max_pending, perSourcePerMin: config.inventory.pending_per_source_per_min },
    });
  } catch (err) {
    return refuse(`cannot open the inventory: ${(err as Error).message}`, 2);
  }
  const metrics = new SelfMetrics();
  const db = openStateDb(join(config.data_dir, 'spool.db'));
  const spool = new Spool({
    db,
    maxBytes: config.pipeline.spool_max_bytes,
    whenFull: config.pipeline.when_full,
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
  };
  // One port: with http.tls it speaks only HTTPS and WSS. The https server is typed as http's
  // (Fastify's type follows the option), which is all SharedServer and the plugins use.
  const app = Fastify({
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: config.http.body_limit_bytes,
    trustProxy: transport.proxies.trust,
    ...(transport.tls && { https: transport.tls }),
  }) as unknown as FastifyInstance;
  const server = new SharedServer(app, transport.proxies.clientAddress);
  installNetworkAllowList(app, transport.allowed, () => metrics.httpRefused.labels('network_not_allowed').inc());
  const stopReloading = transport.tls
    ? reloadOnSighup(app.server as unknown as HttpsServer, config.http.tls, log, (ok) => metrics.tlsReloads.labels(ok ? 'ok' : 'failed').inc())
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
    influx = await openInfluxTarget(config, log);
  } catch (err) {
    if (!(err instanceof InfluxdNotFoundError)) throw err;
    closeLocal();
    return refuse(err.message, 1);
  }
  const drain = new Drain({
    spool,
    writer: influx.writer,
    log: log.child({ component: 'drain' }),
    batchSize: config.pipeline.batch_size,
    flushIntervalMs: config.pipeline.flush_interval_ms,
    concurrency: config.pipeline.concurrency,
    metrics: metrics.drainMetrics(),
    prepare: () => influx.prepare(),
  });

  let operations;
  try {
    // Durable commands waiting from the last run resume here; they wait for their devices.
    operations = startOperations({ inventory, collector, plugins, influx: influx.query, maintenance, log, config: config.operations });
  } catch (err) {
    await influx.stop();
    closeLocal();
    return refuse(`invalid configuration: ${(err as Error).message}`, 2);
  }
  const emit = collector.emitter.system.bind(collector.emitter);
  const sessions = new SessionScheduler({
    db: inventory.db,
    dispatch: (device, request) => collector.bus.dispatch(device, request),
    emit: (measurement, fields, tags = {}, time) => emit({ measurement, fields, tags, time }),
    lookup: (id) => inventory.directory.lookup(id),
    log: log.child({ component: 'sessions' }),
    // A station that is back gets the session changes it missed at once.
    onAttach: (listener) => collector.bus.onAttach(listener),
    maintenance: maintenance.calendar,
  });

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
      ? new BackupSchedule({ at: config.backup.at, timezone: config.backup.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone, run: () => backups.take(), log })
      : undefined;

  const bootstrap = await bootstrapAdminKey(inventory);
  if (bootstrap.created) log.info({ key: bootstrap.key.id }, 'created the admin API key from FLEETPULSE_ADMIN_KEY');
  if (bootstrap.warning) log.warn(bootstrap.warning);

  app.get('/healthz', async () => ({ status: 'ok', spool: spool.size(), plugins: collector.running }));
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  // Not awaited: the API loads when the server gets ready, after the plugins have started and
  // declared their own API routes, which it mounts inside its scope.
  void app.register(apiPlugin, {
    prefix: '/api/v1',
    inventory,
    kinds: collector.kinds,
    influx: influx.query,
    operations,
    backups: { backups, nextBackupAt: () => backupSchedule?.next },
    limits: { bodyLimit: config.http.body_limit_bytes, authFailures: { max: config.http.auth_failures_per_min, timeWindowMs: 60_000 } },
    onAuthFailure: (reason) => metrics.authFailures.labels(reason).inc(),
    extend: async (api) => {
      await api.register(sessionRoutes, { scheduler: sessions });
      server.mountApiRoutes(api);
    },
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
  sessions.start();
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
    sessions.stop();
    backupSchedule?.stop();
    retention.stop();
    await downsampler.stop();
    await operations.stop();
    await collector.stop();
    await app.close();
    await drain.stop(config.pipeline.shutdown_flush_s * 1000);
    const left = spool.size();
    closeLocal();
    await influx.stop();
    log.info({ leftInSpool: left.points }, 'stopped');
  });
}

function refuse(message: string, code: number): number {
  console.error(`fleetpulse serve: ${message}`);
  return code;
}
