import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useInfluxd } from '../../test/helpers/influxd.ts';
import {
  InfluxQuery,
  InfluxQueryError,
  isReadOnly,
  parseGoDuration,
  quoteIdent,
  quoteString,
  rows,
  splitStatements,
} from './influx-query.ts';
import { InfluxV1Writer } from './influx-writer.ts';
import { freePort } from './ports.ts';

const influx = useInfluxd();

const t0 = Date.now() - 3_600_000;

async function seed(db: string, lines: string[]): Promise<void> {
  const w = new InfluxV1Writer({ url: influx.url, database: db });
  try {
    expect(await w.write(lines)).toEqual({ kind: 'written' });
  } finally {
    w.close();
  }
}

describe('InfluxQuery against a real influxd 1.6', () => {
  let db: string;
  let q: InfluxQuery;

  beforeAll(async () => {
    db = await influx.freshDatabase();
    q = influx.client(db);
    await seed(db, [
      `cpu,device=t1,site=s1 usage=10,cores=4i ${t0}`,
      `cpu,device=t1,site=s1 usage=20,cores=4i ${t0 + 1000}`,
      `cpu,device=t2,site=s2 usage=30,cores=2i ${t0}`,
    ]);
  });

  it('returns the series of the first statement, with ms epochs', async () => {
    const series = await q.query("SELECT usage, cores FROM cpu WHERE device = 't1'");
    expect(series).toEqual([
      {
        name: 'cpu',
        tags: {},
        columns: ['time', 'usage', 'cores'],
        values: [
          [t0, 10, 4],
          [t0 + 1000, 20, 4],
        ],
      },
    ]);
  });

  it('rows() keys values by column and adds the series tags', async () => {
    const series = await q.query('SELECT MEAN(usage) AS peak FROM cpu GROUP BY device');
    expect(series.map((s) => s.tags)).toEqual([{ device: 't1' }, { device: 't2' }]);
    expect(rows(series)).toEqual([
      { device: 't1', time: 0, peak: 15 },
      { device: 't2', time: 0, peak: 30 },
    ]);
    expect(rows(series[0])).toEqual([{ device: 't1', time: 0, peak: 15 }]);
    expect(rows(undefined)).toEqual([]);
  });

  it('binds $params on the server', async () => {
    const series = await q.query('SELECT usage FROM cpu WHERE device = $device AND usage > $min', {
      device: 't1',
      min: 15,
    });
    expect(rows(series)).toEqual([{ time: t0 + 1000, usage: 20 }]);
  });

  it('an empty result is an empty list', async () => {
    expect(await q.query("SELECT usage FROM cpu WHERE device = 'nobody'")).toEqual([]);
    expect(await q.query('SELECT * FROM no_such_measurement')).toEqual([]);
  });

  it('throws InfluxQueryError with InfluxDB’s text on a parse error', async () => {
    const err = await q.query('SELEC usage FROM cpu').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfluxQueryError);
    expect((err as InfluxQueryError).message).toMatch(/^error parsing query: found SELEC, expected SELECT/);
    expect((err as InfluxQueryError).status).toBe(400);
    expect((err as InfluxQueryError).query).toBe('SELEC usage FROM cpu');
  });

  it('throws InfluxQueryError on a statement error', async () => {
    const err = await q.query('SELECT * FROM "nope".."cpu"').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfluxQueryError);
    expect(err).toMatchObject({ message: 'database not found: nope', query: 'SELECT * FROM "nope".."cpu"' });
  });

  it('queryMulti returns one result per statement', async () => {
    const results = await q.queryMulti(
      'SELECT COUNT(usage) FROM cpu; SELECT MEAN(nothing) FROM cpu; SHOW TAG VALUES FROM cpu WITH KEY = "site"',
    );
    expect(results).toEqual([
      { statementId: 0, series: [{ name: 'cpu', tags: {}, columns: ['time', 'count'], values: [[0, 3]] }] },
      { statementId: 1, series: [] },
      {
        statementId: 2,
        series: [
          {
            name: 'cpu',
            tags: {},
            columns: ['key', 'value'],
            values: [
              ['site', 's1'],
              ['site', 's2'],
            ],
          },
        ],
      },
    ]);
  });

  it('queryMulti: influxd 1.6 stops at a failing statement and says only "not executed"', async () => {
    const results = await q.queryMulti(
      'SELECT COUNT(usage) FROM cpu; SELECT * FROM "nope".."cpu"; SHOW TAG VALUES FROM cpu WITH KEY = "site"',
    );
    // influxd answers with two results: the first, and `not executed` for the failing one (not
    // "database not found", which it reports when the statement runs alone); the third is missing
    // from its answer and filled in by queryMulti.
    expect(results).toEqual([
      { statementId: 0, series: [{ name: 'cpu', tags: {}, columns: ['time', 'count'], values: [[0, 3]] }] },
      { statementId: 1, series: [], error: 'not executed' },
      { statementId: 2, series: [], error: 'not executed' },
    ]);
  });

  it('sends writes-by-query (SELECT INTO, DROP) as POST', async () => {
    // Over GET, influxd 1.6 still runs SELECT INTO but adds the message "deprecated use of
    // 'SELECT * INTO ...' in a read only context, please use a POST request instead".
    const [into] = await q.queryMulti('SELECT usage INTO cpu_copy FROM cpu GROUP BY *');
    expect(into).toEqual({
      statementId: 0,
      series: [{ name: 'result', tags: {}, columns: ['time', 'written'], values: [[0, 3]] }],
    });
    expect(await influx.count('cpu_copy', db)).toBe(3);
    await q.query('DROP MEASUREMENT cpu_copy');
    expect(await influx.count('cpu_copy', db)).toBe(0);
  });

  it('quoteIdent and quoteString survive quotes, backslashes, spaces, semicolons and newlines', async () => {
    const weirdDb = await influx.freshDatabase();
    const name = `we"ird'\\me ;x`; // a measurement named: we"ird'\me ;x
    const text = `it's a "q" \\ back\nslash;`;
    const lpText = text.replace(/["\\]/g, (c) => `\\${c}`);
    await seed(weirdDb, [`${name.replace(/[ ,]/g, (c) => `\\${c}`)},device=a txt="${lpText}" ${t0}`]);
    const wq = influx.client(weirdDb);
    expect(rows(await wq.query('SHOW MEASUREMENTS'))).toEqual([{ name }]);
    expect(rows(await wq.query(`SELECT txt FROM ${quoteIdent(name)} WHERE txt = ${quoteString(text)}`))).toEqual([
      { time: t0, txt: text },
    ]);
    expect(quoteIdent('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteString("it's\n")).toBe("'it\\'s\\n'");
  });

  it('an unreachable server gives InfluxQueryError with the socket error', async () => {
    const port = await freePort();
    const dead = new InfluxQuery({ url: `http://127.0.0.1:${port}`, database: 'x' });
    await expect(dead.query('SHOW DATABASES')).rejects.toThrow(
      `GET http://127.0.0.1:${port}/query: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });
});

describe('ensureDatabase', () => {
  const policy = async (db: string) => rows(await influx.query(`SHOW RETENTION POLICIES ON ${quoteIdent(db)}`));

  it('creates the database with a default 365d "fleetpulse" policy, and is idempotent', async () => {
    const db = `ensure_${Date.now()}`;
    const q = influx.client();
    expect(await q.ensureDatabase({ database: db })).toEqual({ action: 'created', database: db, rpName: 'fleetpulse' });
    const expected = [
      { name: 'fleetpulse', duration: '8760h0m0s', shardGroupDuration: '168h0m0s', replicaN: 1, default: true },
    ];
    expect(await policy(db)).toEqual(expected);
    expect(await q.ensureDatabase({ database: db })).toEqual({
      action: 'unchanged',
      database: db,
      rpName: 'fleetpulse',
    });
    expect(await policy(db)).toEqual(expected);
  });

  it('changes the duration of an existing policy and makes it the default', async () => {
    const db = await influx.freshDatabase({ retentionDays: 365 });
    const q = influx.client();
    await q.query(`CREATE RETENTION POLICY "other" ON ${quoteIdent(db)} DURATION 1d REPLICATION 1 DEFAULT`);
    expect((await q.ensureDatabase({ database: db, retentionDays: 30 })).action).toBe('altered');
    expect(await policy(db)).toEqual([
      { name: 'fleetpulse', duration: '720h0m0s', shardGroupDuration: '168h0m0s', replicaN: 1, default: true },
      { name: 'other', duration: '24h0m0s', shardGroupDuration: '1h0m0s', replicaN: 1, default: false },
    ]);
    expect((await q.ensureDatabase({ database: db, retentionDays: 30 })).action).toBe('unchanged');
    expect((await q.ensureDatabase({ database: db, retentionDays: 0 })).action).toBe('altered');
    expect((await policy(db))[0]).toMatchObject({ name: 'fleetpulse', duration: '0s', default: true });
  });

  it('adds the policy to a database created without it', async () => {
    const db = `bare_${Date.now()}`;
    const q = influx.client();
    await q.query(`CREATE DATABASE ${quoteIdent(db)}`); // gets 1.x's "autogen" (infinite)
    expect((await q.ensureDatabase({ database: db, rpName: 'keep 90 days', retentionDays: 90 })).action).toBe(
      'rp_created',
    );
    expect(await policy(db)).toEqual([
      { name: 'autogen', duration: '0s', shardGroupDuration: '168h0m0s', replicaN: 1, default: false },
      { name: 'keep 90 days', duration: '2160h0m0s', shardGroupDuration: '24h0m0s', replicaN: 1, default: true },
    ]);
  });
});

describe('request shape (fake server)', () => {
  let server: http.Server;
  let url: string;
  const seen: { method: string; url: string; auth?: string; body: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ results: [{ statement_id: 0 }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('GET for SELECT/SHOW with Token auth; POST for the rest with Basic auth', async () => {
    await new InfluxQuery({ url, database: 'fleet', token: 'tok' }).query('SELECT 1 FROM x', { a: 1 });
    await new InfluxQuery({ url, database: 'fleet', username: 'u', password: 'p' }).query('DROP SERIES FROM x');
    expect(seen[0]).toEqual({
      method: 'GET',
      url: `/query?db=fleet&epoch=ms&params=${encodeURIComponent('{"a":1}')}&q=SELECT+1+FROM+x`.replace(/%20/g, '+'),
      auth: 'Token tok',
      body: '',
    });
    expect(seen[1]).toEqual({
      method: 'POST',
      url: '/query?db=fleet&epoch=ms',
      auth: `Basic ${Buffer.from('u:p').toString('base64')}`,
      body: 'q=DROP+SERIES+FROM+x',
    });
  });
});

describe('helpers', () => {
  it('isReadOnly / splitStatements', () => {
    expect(isReadOnly('SELECT * FROM cpu')).toBe(true);
    expect(isReadOnly('  show databases')).toBe(true);
    expect(isReadOnly('SELECT "into" FROM "INTO"')).toBe(true);
    expect(isReadOnly("SELECT * FROM cpu WHERE a = 'x; DROP DATABASE y'")).toBe(true);
    expect(isReadOnly('SELECT * INTO b FROM a')).toBe(false);
    expect(isReadOnly('SELECT 1 FROM a; DROP MEASUREMENT a')).toBe(false);
    expect(isReadOnly('CREATE DATABASE x')).toBe(false);
    expect(splitStatements("SELECT 1 FROM a; -- c;\nSHOW 'x;y' ;")).toEqual(['SELECT 1 FROM a', "SHOW 'x;y'"]);
  });
  it('parseGoDuration', () => {
    expect(parseGoDuration('8760h0m0s')).toBe(365 * 86_400_000);
    expect(parseGoDuration('0s')).toBe(0);
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(() => parseGoDuration('forever')).toThrow();
  });
});
