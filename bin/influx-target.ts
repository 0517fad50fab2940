import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { InfluxV1Writer, InfluxV2Writer } from '../collector/pipeline/influx-writer.ts';
import { Backoff, sleep } from '../collector/pipeline/backoff.ts';
import { startInfluxd, type LocalInfluxd } from '../collector/pipeline/local-influxd.ts';
import type { PointWriter } from '../collector/pipeline/writer.ts';
import type { Config } from './config.ts';

export interface InfluxTarget {
  /** The base URL written to (the embedded influxd's `http://127.0.0.1:<port>`, or influx.url). */
  url: string;
  /** Whether InfluxDB answers `GET /ping` within 2 s now. */
  ping(): Promise<boolean>;
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
 * influxd from PATH under `<data_dir>/influxdb` on 127.0.0.1:`embeddedPort` (serve has checked
 * that the port is free), stopped with the process. An embedded influxd that dies under a
 * running serve is started again on the same port, with backoff, and the log says so.
 */
export async function openInfluxTarget(
  config: Config,
  log: Logger,
  embeddedPort = config.influx.embedded_port,
): Promise<InfluxTarget> {
  const c = config.influx;
  let local: LocalInfluxd | undefined;
  let url = c.url;
  const stopping = new AbortController();
  if (!url) {
    const dataDir = join(config.data_dir, 'influxdb');
    mkdirSync(dataDir, { recursive: true });
    const influxdLog = { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) };
    const start = () => startInfluxd({ dataDir, port: embeddedPort, log: influxdLog });
    const supervise = (running: LocalInfluxd) => {
      void running.exited.then(async () => {
        if (stopping.signal.aborted) return;
        log.warn(
          { influxdPid: running.pid, url: running.url, output: running.outputTail().slice(-5) },
          'the embedded influxd exited; starting it again',
        );
        const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
        for (let attempt = 1; !stopping.signal.aborted; attempt++) {
          await sleep(backoff.next(), stopping.signal);
          if (stopping.signal.aborted) return;
          try {
            local = await start();
          } catch (err) {
            log.warn({ attempt, err: (err as Error).message }, 'cannot start the embedded influxd again yet; retrying');
            continue;
          }
          if (stopping.signal.aborted) return void (await local.stop());
          log.info({ influxdPid: local.pid, url: local.url, attempt }, 'the embedded influxd is running again');
          supervise(local);
          return;
        }
      });
    };
    local = await start();
    supervise(local);
    url = local.url;
    log.info(
      { url, database: c.database, dataDir },
      'started the embedded influxd (set influx.url to use your own InfluxDB)',
    );
  }
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
  const target = url;
  return {
    url,
    async ping() {
      try {
        const res = await fetch(`${target}/ping`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        return res.ok;
      } catch {
        return false;
      }
    },
    writer,
    query,
    async prepare() {
      if (c.api !== 'v1') return;
      const result = await query.ensureDatabase({
        database: c.database,
        retentionDays: c.retention_days,
        rpName: c.retention_policy,
      });
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
