import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { InfluxV1Writer, InfluxV2Writer } from '../collector/pipeline/influx-writer.ts';
import { startInfluxd, type LocalInfluxd } from '../collector/pipeline/local-influxd.ts';
import type { PointWriter } from '../collector/pipeline/writer.ts';
import type { Config } from './config.ts';

export interface InfluxTarget {
  writer: PointWriter & { close(): void };
  query: InfluxQuery;
  /** Stops the embedded influxd, if this process started one. */
  stop(): Promise<void>;
}

/**
 * The InfluxDB that `serve` writes to: the configured one, or (no URL configured) a private
 * influxd from PATH under `<data_dir>/influxdb`, stopped with the process.
 */
export async function openInfluxTarget(config: Config, log: Logger): Promise<InfluxTarget> {
  const c = config.influx;
  let local: LocalInfluxd | undefined;
  let url = c.url;
  if (!url) {
    const dataDir = join(config.data_dir, 'influxdb');
    mkdirSync(dataDir, { recursive: true });
    local = await startInfluxd({ dataDir, log: { info: (m) => log.info(m), warn: (m) => log.warn(m) } });
    url = local.url;
    log.info({ url, dataDir }, 'started the embedded influxd (set influx.url to use your own InfluxDB)');
  }
  const query = new InfluxQuery({
    url,
    database: c.database,
    username: c.username || undefined,
    password: c.password || undefined,
    token: c.token || undefined,
  });
  const writer =
    c.api === 'v2'
      ? new InfluxV2Writer({ url, org: c.org, bucket: c.bucket || c.database, token: c.token, gzip: c.gzip })
      : new InfluxV1Writer({
          url,
          database: c.database,
          retentionPolicy: c.retention_policy || undefined,
          username: c.username || undefined,
          password: c.password || undefined,
          gzip: c.gzip,
        });
  if (c.api === 'v1') await ensureDatabaseInBackground(query, config, log);
  return {
    writer,
    query,
    async stop() {
      writer.close();
      await local?.stop();
    },
  };
}

/**
 * Creates the database and its retention policy. An InfluxDB that is down at start is no
 * reason to refuse to start (points wait in the spool): keep trying in the background.
 */
async function ensureDatabaseInBackground(query: InfluxQuery, config: Config, log: Logger): Promise<void> {
  const attempt = () =>
    query.ensureDatabase({ database: config.influx.database, retentionDays: config.influx.retention_days, rpName: config.influx.retention_policy });
  try {
    const result = await attempt();
    log.info(result, 'InfluxDB database ready');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'cannot prepare the InfluxDB database yet; retrying every 10 s');
    const timer = setInterval(() => {
      attempt().then(
        (result) => {
          clearInterval(timer);
          log.info(result, 'InfluxDB database ready');
        },
        () => {},
      );
    }, 10_000);
    timer.unref();
  }
}
