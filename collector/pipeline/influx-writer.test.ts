import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useInfluxd } from '../../test/helpers/influxd.ts';
import { rows } from './influx-query.ts';
import { InfluxV1Writer, InfluxV2Writer, parseRetryAfter } from './influx-writer.ts';
import { Spool } from './spool.ts';
import { openStateDb } from './state-db.ts';
import { embeddedInfluxdUrl, INFLUXD_INSTALL_HINT, PortInUseError, startInfluxd } from './local-influxd.ts';

const influx = useInfluxd();

/** Distinct millisecond timestamps near now (inside the 365 d retention policy). */
let clock = Date.now() - 60_000;
const ts = () => ++clock;

describe('InfluxV1Writer against a real influxd 1.6', () => {
  const writers: InfluxV1Writer[] = [];
  const writer = (opts: Partial<ConstructorParameters<typeof InfluxV1Writer>[0]> & { database: string }) => {
    const w = new InfluxV1Writer({ url: influx.url, ...opts });
    writers.push(w);
    return w;
  };
  afterAll(() => writers.forEach((w) => w.close()));

  it('writes gzip-compressed batches (the default)', async () => {
    const db = await influx.freshDatabase();
    const w = writer({ database: db });
    const lines = Array.from({ length: 500 }, (_, i) => `cpu,device=t${i % 10} usage=${i},n=${i}i ${ts()}`);
    expect(await w.write(lines)).toEqual({ kind: 'written' });
    expect(await influx.count('cpu', db)).toBe(500);
    expect(w.describe()).toBe(`influxdb v1 ${influx.url} db=${db}`);
  });

  it('writes uncompressed batches with gzip: false', async () => {
    const db = await influx.freshDatabase();
    const w = writer({ database: db, gzip: false });
    const t = ts();
    expect(await w.write([`mem,device=a used=1 ${t}`, `mem,device=b used=2 ${t}`])).toEqual({ kind: 'written' });
    expect(rows(await influx.query('SELECT device, used FROM mem ORDER BY time', { db }))).toEqual([
      { time: t, device: 'a', used: 1 },
      { time: t, device: 'b', used: 2 },
    ]);
  });

  it('posts what the spool packed as it is: rows compressed one by one, read by influxd as one stream', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fleetpulse-packed-'));
    const db = openStateDb(path.join(dir, 'spool.db'));
    try {
      const spool = new Spool({ db, linesPerRow: 100 });
      const t = ts();
      clock += 350;
      // A string field holding a newline, in the middle of a row, and rows cut mid-batch.
      for (let i = 0; i < 350; i++)
        spool.append(`packed,device=p${i % 7} n=${i}i,note="${i === 150 ? 'two\nlines' : 'x'}" ${t + i}`);
      spool.commit();
      const batch = spool.read(0, 1000)!;
      expect(batch.count).toBe(350);
      for (const gzip of [true, false]) {
        const target = await influx.freshDatabase();
        expect(await writer({ database: target, gzip }).write(batch)).toEqual({ kind: 'written' });
        expect(await influx.count('packed', target), `gzip: ${gzip}`).toBe(350);
        const [row] = rows(await influx.query(`SELECT n, note FROM packed WHERE time = ${t + 150}ms`, { db: target }));
        expect(row).toEqual({ time: t + 150, n: 150, note: 'two\nlines' });
      }
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes into a named retention policy', async () => {
    const db = await influx.freshDatabase();
    const w = writer({ database: db, retentionPolicy: 'fleetpulse' });
    expect(await w.write([`disk,device=a free=1 ${ts()}`])).toEqual({ kind: 'written' });
    expect(await influx.count('disk', db)).toBe(1);
  });

  it('an empty batch is written without a request', async () => {
    const w = writer({ database: 'does_not_matter' });
    expect(await w.write([])).toEqual({ kind: 'written' });
  });

  it('a batch with one unparsable line is rejected, with influxd’s error text', async () => {
    const db = await influx.freshDatabase();
    const w = writer({ database: db });
    const outcome = await w.write([`m,device=a v=1 ${ts()}`, `m,device=a v= ${ts()}`, `m,device=b v=3 ${ts()}`]);
    expect(outcome.kind).toBe('rejected');
    expect(outcome.kind === 'rejected' && outcome.error).toMatch(
      /^partial write: unable to parse 'm,device=a v= \d+': missing field value/,
    );
    // influxd 1.6 stores the valid lines of a partly unparsable batch and answers 400
    // "partial write: unable to parse ..." (for parse errors it even says `dropped=0`). So a
    // 400 does NOT mean "nothing was written": the drain may resend the good lines (harmless,
    // points carry their own timestamps) while it bisects to find the bad one.
    expect(outcome.kind === 'rejected' && outcome.error).toMatch(/dropped=0$/);
    expect(await influx.count('m', db)).toBe(2);
  });

  it('a field type conflict is rejected; the other points of the batch are stored', async () => {
    const db = await influx.freshDatabase();
    const w = writer({ database: db });
    expect(await w.write([`m,device=a v=1 ${ts()}`])).toEqual({ kind: 'written' });
    const outcome = await w.write([`m,device=c v=4 ${ts()}`, `m,device=c v="text" ${ts()}`, `m,device=c v=5 ${ts()}`]);
    expect(outcome).toEqual({
      kind: 'rejected',
      error:
        'partial write: field type conflict: input field "v" on measurement "m" is type string, already exists as type float dropped=1',
    });
    // Same as for parse errors: influxd 1.6 drops only the conflicting point (dropped=1).
    expect(await influx.count('m', db)).toBe(3);
  });

  it('a database that does not exist: retry, saying it is missing', async () => {
    const w = writer({ database: 'no_such_db' });
    const outcome = await w.write([`m v=1 ${ts()}`]);
    expect(outcome.kind).toBe('retry');
    expect(outcome.kind === 'retry' && outcome.error).toMatch(
      /^POST http:\/\/127\.0\.0\.1:\d+\/write: HTTP 404: database not found: "no_such_db" — database "no_such_db" is missing: create it/,
    );
  });

  it('a retention policy that does not exist: retry, saying it is missing', async () => {
    const db = await influx.freshDatabase();
    const outcome = await writer({ database: db, retentionPolicy: 'nope' }).write([`m v=1 ${ts()}`]);
    expect(outcome.kind).toBe('retry');
    expect(outcome.kind === 'retry' && outcome.error).toMatch(
      /HTTP 500: retention policy not found: nope — the retention policy .* is missing/,
    );
  });

  it('influxd down: retry with the connection error; up again: the write lands', async () => {
    const db = await influx.freshDatabase();
    const w = writer({ database: db });
    expect(await w.write([`up v=1 ${ts()}`])).toEqual({ kind: 'written' }); // keep-alive socket now open
    await influx.stop();
    try {
      const outcome = await w.write([`up v=2 ${ts()}`]);
      expect(outcome.kind).toBe('retry');
      expect(outcome.kind === 'retry' && outcome.error).toMatch(
        /^POST http:\/\/127\.0\.0\.1:\d+\/write: (connect ECONNREFUSED 127\.0\.0\.1:\d+|socket hang up|read ECONNRESET)$/,
      );
      const again = await w.write([`up v=2 ${ts()}`]);
      expect(again).toEqual({
        kind: 'retry',
        error: `POST ${influx.url}/write: connect ECONNREFUSED 127.0.0.1:${influx.port}`,
      });
    } finally {
      await influx.start();
    }
    expect(await w.write([`up v=3 ${ts()}`])).toEqual({ kind: 'written' });
    expect(await influx.count('up', db)).toBe(2);
  });
});

/**
 * Protocol-shape tests against a tiny stand-in for an InfluxDB 2.x server (influxd 1.6 has no
 * /api/v2/write and never answers 413/429/503 on its own). It records each request and answers
 * with whatever the test queued.
 */
interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  remotePort: number;
}
interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (for timeouts). */
  hang?: boolean;
}

describe('protocol shape (fake InfluxDB 2.x server)', () => {
  let server: http.Server;
  let url: string;
  const requests: Recorded[] = [];
  const replies: Reply[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
        requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          remotePort: req.socket.remotePort ?? 0,
        });
        const reply = replies.shift() ?? { status: 204 };
        if (reply.hang) return;
        res.writeHead(reply.status, {
          ...(reply.body ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
          ...reply.headers,
        });
        res.end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  afterEach(() => {
    requests.length = 0;
    replies.length = 0;
  });

  const v2 = (extra: Partial<ConstructorParameters<typeof InfluxV2Writer>[0]> = {}) =>
    new InfluxV2Writer({ url, org: 'acme & co', bucket: 'fleet/metrics', token: 's3cr3t==', ...extra });

  it('v2: POST /api/v2/write with org, bucket, precision, Token auth and a gzip body', async () => {
    const w = v2();
    expect(await w.write(['a v=1 1', 'b v=2 2'])).toEqual({ kind: 'written' });
    const [req] = requests;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/v2/write?org=acme+%26+co&bucket=fleet%2Fmetrics&precision=ms');
    expect(req.headers.authorization).toBe('Token s3cr3t==');
    expect(req.headers['content-encoding']).toBe('gzip');
    expect(req.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(req.headers.connection).toBe('keep-alive');
    expect(req.body).toBe('a v=1 1\nb v=2 2');
    expect(w.describe()).toBe(`influxdb v2 ${url} org=acme & co bucket=fleet/metrics`);
    w.close();
  });

  it('v2 without gzip sends the plain body and no Content-Encoding', async () => {
    const w = v2({ gzip: false });
    expect(await w.write(['a v=1 1'])).toEqual({ kind: 'written' });
    expect(requests[0].headers['content-encoding']).toBeUndefined();
    expect(requests[0].body).toBe('a v=1 1');
    w.close();
  });

  it('v1: /write with db, rp, precision and Basic auth (or u/p query params)', async () => {
    const basic = new InfluxV1Writer({
      url,
      database: 'fleet',
      retentionPolicy: 'raw',
      username: 'w',
      password: 'p:w',
    });
    expect(await basic.write(['a v=1 1'])).toEqual({ kind: 'written' });
    expect(requests[0].url).toBe('/write?db=fleet&rp=raw&precision=ms');
    expect(requests[0].headers.authorization).toBe(`Basic ${Buffer.from('w:p:w').toString('base64')}`);

    const query = new InfluxV1Writer({
      url: `${url}/influx`,
      database: 'fleet',
      username: 'w',
      password: 'p&w',
      auth: 'query',
      gzip: false,
    });
    expect(await query.write(['a v=1 1'])).toEqual({ kind: 'written' });
    expect(requests[1].url).toBe('/influx/write?db=fleet&precision=ms&u=w&p=p%26w');
    expect(requests[1].headers.authorization).toBeUndefined();
    basic.close();
    query.close();
  });

  it('413 -> too_large', async () => {
    replies.push({
      status: 413,
      body: JSON.stringify({ code: 'request too large', message: 'unable to read data: points batch is too large' }),
    });
    const outcome = await v2().write(['a v=1 1']);
    expect(outcome).toEqual({
      kind: 'too_large',
      error: `POST ${url}/api/v2/write: HTTP 413: unable to read data: points batch is too large`,
    });
  });

  it('429 with Retry-After in seconds -> retry with retryAfterMs', async () => {
    replies.push({
      status: 429,
      headers: { 'Retry-After': '7' },
      body: JSON.stringify({ code: 'too many requests', message: 'org over quota' }),
    });
    expect(await v2().write(['a v=1 1'])).toEqual({
      kind: 'retry',
      error: `POST ${url}/api/v2/write: HTTP 429: org over quota`,
      retryAfterMs: 7000,
    });
  });

  it('503 with Retry-After as an HTTP date -> retry with retryAfterMs', async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    replies.push({
      status: 503,
      headers: { 'Retry-After': at },
      body: JSON.stringify({ code: 'unavailable', message: 'server is starting' }),
    });
    const outcome = await v2().write(['a v=1 1']);
    expect(outcome.kind).toBe('retry');
    if (outcome.kind !== 'retry') return;
    expect(outcome.error).toBe(`POST ${url}/api/v2/write: HTTP 503: server is starting`);
    expect(outcome.retryAfterMs).toBeGreaterThan(25_000);
    expect(outcome.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('503 without Retry-After and other 5xx -> retry without retryAfterMs', async () => {
    replies.push({ status: 503 }, { status: 500, body: JSON.stringify({ error: 'timeout' }) });
    expect(await v2().write(['a v=1 1'])).toEqual({ kind: 'retry', error: `POST ${url}/api/v2/write: HTTP 503` });
    expect(await v2().write(['a v=1 1'])).toEqual({
      kind: 'retry',
      error: `POST ${url}/api/v2/write: HTTP 500: timeout`,
    });
  });

  it('400 and 422 -> rejected with the message of the JSON body', async () => {
    replies.push(
      {
        status: 400,
        body: JSON.stringify({ code: 'invalid', message: "unable to parse 'a v=': missing field value" }),
      },
      {
        status: 422,
        body: JSON.stringify({
          code: 'unprocessable entity',
          message: 'failure writing points to database: partial write: points beyond retention policy dropped=1',
        }),
      },
    );
    expect(await v2().write(['a v='])).toEqual({
      kind: 'rejected',
      error: "unable to parse 'a v=': missing field value",
    });
    expect(await v2().write(['a v=1 1'])).toEqual({
      kind: 'rejected',
      error: 'failure writing points to database: partial write: points beyond retention policy dropped=1',
    });
  });

  it('401/403 -> retry, saying the credentials are wrong; 404 -> retry, saying the bucket is missing', async () => {
    replies.push(
      { status: 401, body: JSON.stringify({ code: 'unauthorized', message: 'unauthorized access' }) },
      { status: 403, body: JSON.stringify({ error: 'user is not authorized to write to database' }) },
      { status: 404, body: JSON.stringify({ code: 'not found', message: 'bucket "fleet/metrics" not found' }) },
    );
    const unauthorized = await v2().write(['a v=1 1']);
    expect(unauthorized).toEqual({
      kind: 'retry',
      error: `POST ${url}/api/v2/write: HTTP 401: unauthorized access — wrong credentials: check influx.token (it needs write permission on the bucket)`,
    });
    const forbidden = await new InfluxV1Writer({ url, database: 'fleet' }).write(['a v=1 1']);
    expect(forbidden.kind === 'retry' && forbidden.error).toMatch(
      /HTTP 403: user is not authorized .* — wrong credentials: check influx\.username and influx\.password/,
    );
    const missing = await v2().write(['a v=1 1']);
    expect(missing.kind === 'retry' && missing.error).toBe(
      `POST ${url}/api/v2/write: HTTP 404: bucket "fleet/metrics" not found — bucket "fleet/metrics" (org "acme & co") is missing: create the bucket or fix influx.org / influx.bucket / influx.url`,
    );
  });

  it('no answer within timeoutMs -> retry, saying it timed out', async () => {
    replies.push({ hang: true, status: 0 });
    const w = v2({ timeoutMs: 200 });
    expect(await w.write(['a v=1 1'])).toEqual({
      kind: 'retry',
      error: `POST ${url}/api/v2/write: timed out after 200 ms`,
    });
    w.close();
  });

  it('keeps the connection alive between writes', async () => {
    const w = v2();
    for (let i = 0; i < 3; i++) expect(await w.write([`a v=${i} ${i}`])).toEqual({ kind: 'written' });
    const ports = new Set(requests.map((r) => r.remotePort));
    expect(ports.size).toBe(1);
    w.close();
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0); // in the past
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('startInfluxd (what the embedded default and this helper stand on)', () => {
  it('without influxd, says exactly how to install it', async () => {
    await expect(
      startInfluxd({ dataDir: '/nonexistent-never-created', binary: 'no-such-influxd-binary' }),
    ).rejects.toThrow(
      'influxd not found on PATH. Install InfluxDB: `sudo apt-get install -y influxdb` (Debian/Ubuntu), or run `docker compose up -d influxdb` and set influx.url',
    );
    expect(INFLUXD_INSTALL_HINT).toMatch(/^influxd not found on PATH/);
  });

  it('refuses a port that another process holds (its /ping would fool the start-up check)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fleetpulse-influxd-'));
    try {
      const err = await startInfluxd({ dataDir: dir, port: influx.port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PortInUseError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tells the URL of the influxd running on a data directory, and nothing once it stopped', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fleetpulse-influxd-'));
    try {
      expect(await embeddedInfluxdUrl(dir)).toBeUndefined();
      const local = await startInfluxd({ dataDir: dir });
      expect(await embeddedInfluxdUrl(dir)).toBe(local.url);
      await local.stop();
      expect(await embeddedInfluxdUrl(dir)).toBeUndefined(); // the pid file stays behind
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a child that dies during start-up fails fast with its exit status', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fleetpulse-influxd-'));
    try {
      await expect(startInfluxd({ dataDir: dir, binary: '/bin/false' })).rejects.toThrow(
        /^influxd \(\/bin\/false -config .*influxdb\.conf\) exited during start-up \(code 1, signal none\); it wrote nothing$/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
