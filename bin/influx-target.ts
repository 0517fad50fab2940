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
  /**
   * Makes sure the database and its retention policy exist (v1; nothing for v2); rejects when
   * InfluxDB cannot be asked. The drain calls it, with backoff, before its first write: start-up
   * does not wait for it, so a hung InfluxDB delays nothing else.
   */
  prepare(): Promise<void>;
  /** Aborts the queries under way and to come (shutdown: a hung InfluxDB must not hold it up). */
  cancelQueries(): void;
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
  const stopping = new AbortController();
  const query = new InfluxQuery({
    url,
    signal: stopping.signal,
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
  return {
    writer,
    query,
    async prepare() {
      if (c.api !== 'v1') return;
      const result = await query.ensureDatabase({ database: c.database, retentionDays: c.retention_days, rpName: c.retention_policy });
      log.info(result, 'InfluxDB database ready');
    },
    cancelQueries: () => stopping.abort(),
    async stop() {
      stopping.abort();
      writer.close();
      await local?.stop();
    },
  };
}
