import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { Drain } from '../../collector/pipeline/drain.ts';
import { InfluxdNotFoundError } from '../../collector/pipeline/local-influxd.ts';
import { openStateDb, Spool } from '../../collector/pipeline/spool.ts';
import { Collector } from '../../collector/runtime/collector.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { SharedServer } from '../../collector/runtime/shared-server.ts';
import { MemoryDirectory, PluginConfigError } from '../../collector/sdk/index.ts';
import { plugins } from '../../plugins/index.ts';
import { parseFlags } from '../args.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { openInfluxTarget } from '../influx-target.ts';

const USAGE = `usage: fleetpulse serve [--config fleetpulse.yaml]

Runs the HTTP server (API, /healthz, /metrics, device connections), the collector and the
server-side plugins. Without a configuration it uses the embedded defaults: port 8080, data in
./data, and a local influxd from PATH when influx.url is not set. Environment overrides:
FLEETPULSE_<SECTION>__<KEY>, e.g. FLEETPULSE_HTTP__PORT=9090. See docs/configuration.md.`;

export default async function serve(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, USAGE, { config: { type: 'string', short: 'c' } });
  if (!flags) return argv.includes('--help') || argv.includes('-h') ? 0 : 2;
  let config;
  try {
    config = loadConfig(flags.values.config ?? process.env.FLEETPULSE_CONFIG);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`fleetpulse serve: invalid configuration: ${err.message}`);
    return 2;
  }
  const log = pino({ level: config.log.level });
  mkdirSync(config.data_dir, { recursive: true });

  const metrics = new SelfMetrics();
  const db = openStateDb(join(config.data_dir, 'spool.db'));
  const spool = new Spool({
    db,
    maxBytes: config.pipeline.spool_max_bytes,
    whenFull: config.pipeline.when_full,
    onDrop: (n) => metrics.pointsDropped.labels('spool_full').inc(n),
  });
  metrics.spoolSize = () => spool.size();
  const directory = new MemoryDirectory(new Set(config.inventory.auto_accept));
  const app = Fastify({ loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger, bodyLimit: config.http.body_limit_bytes });
  const server = new SharedServer(app);

  let collector: Collector;
  try {
    collector = new Collector({
      place: 'serve',
      plugins,
      pluginConfig: config.plugins,
      sink: spool,
      db,
      pluginDb: db,
      directory,
      metrics,
      log,
      server,
      onStartFailure: config.plugin_start_failure,
      liveness: config.liveness,
    });
  } catch (err) {
    if (!(err instanceof PluginConfigError)) throw err;
    console.error(`fleetpulse serve: invalid configuration: ${err.message}`);
    spool.close();
    db.close();
    return 2;
  }

  let influx;
  try {
    influx = await openInfluxTarget(config, log);
  } catch (err) {
    if (!(err instanceof InfluxdNotFoundError)) throw err;
    console.error(`fleetpulse serve: ${err.message}`);
    return 1;
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

  app.get('/healthz', async () => ({
    status: 'ok',
    spool: spool.size(),
    plugins: collector.running,
  }));
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  try {
    await collector.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'start-up failed');
    await collector.stop(1000);
    await influx.stop();
    return 1;
  }
  drain.start();
  await app.listen({ host: config.http.host, port: config.http.port });
  log.info({ address: app.server.address(), plugins: collector.planned }, 'fleetpulse serve is running');

  return new Promise<number>((resolve) => {
    const shutdown = async (signal: string) => {
      log.info({ signal }, 'stopping: closing connections, flushing the spool');
      await collector.stop();
      await app.close();
      await drain.stop(config.pipeline.shutdown_flush_s * 1000);
      const left = spool.size();
      spool.close();
      db.close();
      await influx.stop();
      log.info({ leftInSpool: left.points }, 'stopped');
      resolve(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
  });
}
