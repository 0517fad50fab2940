import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { apiPlugin, bootstrapAdminKey } from '../../api/index.ts';
import sessionRoutes from '../../api/routes/sessions/index.ts';
import { SessionScheduler } from '../../collector/commands/session-scheduler.ts';
import { openInventory } from '../../collector/inventory/index.ts';
import { Drain } from '../../collector/pipeline/drain.ts';
import { InfluxdNotFoundError } from '../../collector/pipeline/local-influxd.ts';
import { DEFAULT_LINES_PER_ROW, openStateDb, Spool } from '../../collector/pipeline/spool.ts';
import { Collector } from '../../collector/runtime/collector.ts';
import { Downsampler } from '../../collector/runtime/downsampler.ts';
import { runtimeMeasurements } from '../../collector/runtime/measurements.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { SharedServer } from '../../collector/runtime/shared-server.ts';
import { PluginConfigError } from '../../collector/sdk/index.ts';
import { plugins } from '../../plugins/index.ts';
import { parseFlags, usageExit } from '../args.ts';
import { ConfigError, inventoryPath, loadConfig, type Config } from '../config.ts';
import { openInfluxTarget } from '../influx-target.ts';
import { maintenanceCalendar, startOperations } from '../operations.ts';
import { untilShutdown } from '../shutdown.ts';

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
  const log = pino({ level: config.log.level });
  mkdirSync(config.data_dir, { recursive: true });

  let inventory;
  try {
    inventory = openInventory({ path: inventoryPath(config), autoAccept: config.inventory.auto_accept });
  } catch (err) {
    return refuse(`cannot open the inventory: ${(err as Error).message}`, 2);
  }
  const metrics = new SelfMetrics();
  const db = openStateDb(join(config.data_dir, 'spool.db'));
  const spool = new Spool({
    db,
    maxBytes: config.pipeline.spool_max_bytes,
    whenFull: config.pipeline.when_full,
    linesPerRow: Math.min(DEFAULT_LINES_PER_ROW, config.pipeline.batch_size),
    onDrop: (n) => metrics.pointsDropped.labels('spool_full').inc(n),
  });
  metrics.spoolSize = () => spool.size();
  const closeLocal = () => {
    spool.close();
    db.close();
    inventory.close();
  };
  const app = Fastify({ loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger, bodyLimit: config.http.body_limit_bytes });
  const server = new SharedServer(app);
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

  const bootstrap = await bootstrapAdminKey(inventory);
  if (bootstrap.created) log.info({ key: bootstrap.key.id }, 'created the admin API key from FLEETPULSE_ADMIN_KEY');
  if (bootstrap.created && bootstrap.warning) log.warn(bootstrap.warning);

  app.get('/healthz', async () => ({ status: 'ok', spool: spool.size(), plugins: collector.running }));
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  // Not awaited: the API loads when the server gets ready, after the plugins have started and
  // declared their own API routes, which it mounts inside its scope.
  void app.register(apiPlugin, {
    prefix: '/api/v1',
    inventory,
    kinds: collector.kinds,
    checkDevice: (device) => collector.checkDevice(device),
    influx: influx.query,
    operations,
    limits: { bodyLimit: config.http.body_limit_bytes },
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
    sessions.stop();
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
