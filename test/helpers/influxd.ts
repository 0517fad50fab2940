/**
 * A real `influxd` for a vitest file: `const influx = useInfluxd();` at the top level of a
 * file (or a `describe`). Started in `beforeAll` on a free loopback port with its data in a fresh
 * temp dir, stopped and removed in `afterAll`. Nothing is shared between test files: no fixed
 * ports, no fixed paths.
 *
 *   const influx = useInfluxd();
 *   it('writes', async () => {
 *     const db = await influx.freshDatabase();
 *     ... write into influx.url / db ...
 *     expect(await influx.count('cpu', db)).toBe(3);
 *   });
 *
 * `stop()` / `start()` simulate an outage: start brings influxd back on the same port and data dir.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  InfluxQuery,
  quoteIdent,
  type EnsureDatabaseOptions,
  type QueryParams,
  type Series,
} from '../../collector/pipeline/influx-query.ts';
import { startInfluxd, type LocalInfluxd } from '../../collector/pipeline/local-influxd.ts';

export interface InfluxdFixture {
  /** `http://127.0.0.1:<port>`; stable across stop()/start(). Only valid inside tests/hooks. */
  readonly url: string;
  readonly port: number;
  /** The running child's pid (changes on start()). */
  readonly pid: number;
  /** A new database with a unique name, created with `ensureDatabase` (365 d default RP). */
  freshDatabase(opts?: Omit<EnsureDatabaseOptions, 'database'> & { prefix?: string }): Promise<string>;
  /** A query client for `db` (or none: then statements must name their database). */
  client(db?: string): InfluxQuery;
  /** The series of the first statement; throws `InfluxQueryError` on an error. */
  query(influxql: string, opts?: { db?: string; params?: QueryParams }): Promise<Series[]>;
  /**
   * Points in `measurement`: COUNT of `field` if given, else the largest per-field COUNT(*)
   * (exact when every point carries that field). 0 when the measurement does not exist.
   */
  count(measurement: string, db: string, field?: string): Promise<number>;
  /** Stops influxd (SIGTERM); the data dir and port are kept for start(). */
  stop: () => Promise<void>;
  /** Starts influxd again on the same port and data dir. */
  start(): Promise<void>;
  /** The child's last output lines, for failure messages. */
  outputTail(): string[];
}

export function useInfluxd(opts: { startTimeoutMs?: number } = {}): InfluxdFixture {
  let dir: string | undefined;
  let server: LocalInfluxd | undefined;
  let port: number | undefined;
  let counter = 0;
  const tag = randomBytes(3).toString('hex');

  const need = (): LocalInfluxd => {
    if (!server)
      throw new Error(
        'useInfluxd: influxd is not running (use it inside tests, after beforeAll, and start() after stop())',
      );
    return server;
  };
  const baseUrl = () => {
    if (port === undefined) throw new Error('useInfluxd: not started yet (beforeAll has not run)');
    return `http://127.0.0.1:${port}`;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fleetpulse-influxd-'));
    server = await startInfluxd({ dataDir: dir, startTimeoutMs: opts.startTimeoutMs });
    port = server.port;
  });

  afterAll(async () => {
    try {
      await server?.stop();
    } finally {
      server = undefined;
      if (dir) await rm(dir, { recursive: true, force: true });
      dir = undefined;
    }
  });

  const fixture: InfluxdFixture = {
    get url() {
      return baseUrl();
    },
    get port() {
      if (port === undefined) throw new Error('useInfluxd: not started yet');
      return port;
    },
    get pid() {
      return need().pid;
    },
    client(db?: string) {
      return new InfluxQuery({ url: baseUrl(), database: db });
    },
    async freshDatabase(options = {}) {
      const { prefix = 'test', ...ensure } = options;
      const name = `${prefix}_${tag}_${++counter}`;
      await fixture.client().ensureDatabase({ database: name, ...ensure });
      return name;
    },
    query(influxql, options = {}) {
      return fixture.client(options.db).query(influxql, options.params);
    },
    async count(measurement, db, field) {
      const select = field ? `COUNT(${quoteIdent(field)})` : 'COUNT(*)';
      const series = await fixture.query(`SELECT ${select} FROM ${quoteIdent(measurement)}`, { db });
      let max = 0;
      for (const s of series) {
        for (const values of s.values) {
          s.columns.forEach((column, i) => {
            if (column !== 'time' && typeof values[i] === 'number') max = Math.max(max, values[i]);
          });
        }
      }
      return max;
    },
    async stop() {
      await need().stop();
      server = undefined;
    },
    async start() {
      if (server) throw new Error('useInfluxd: already running');
      if (!dir || port === undefined) throw new Error('useInfluxd: start() before beforeAll');
      server = await startInfluxd({ dataDir: dir, port, startTimeoutMs: opts.startTimeoutMs });
    },
    outputTail() {
      return server?.outputTail() ?? [];
    },
  };
  return fixture;
}
