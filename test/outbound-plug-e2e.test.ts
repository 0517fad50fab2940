/**
 * A plug address is a request the server makes for whoever set it. The real `serve` (real
 * influxd, real inventory) refuses, at registration and with a 400 naming `labels.address`, an
 * address aimed at the embedded influxd (`127.0.0.1:<port>/query?q=DROP+DATABASE...#`), at a
 * loopback listener, or at cloud metadata; the influxd's database survives and a listener on
 * 127.0.0.1 that counts requests is never asked. A venue-LAN address is accepted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useInfluxd } from './helpers/influxd.ts';
import { startServe, type ServeProcess } from './helpers/serve-process.ts';

const influx = useInfluxd();
const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-outbound-plug-'));
const KEY = 'test-admin-key-0c9b8a7f6e5d4c3b2a190807';
let serve: ServeProcess;
let db: string;
let listener: Server;
let hits = 0;

beforeAll(async () => {
  db = await influx.freshDatabase();
  listener = createServer((_req, res) => {
    hits++;
    res.end('{"id":0,"output":true}');
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  serve = await startServe({
    dir,
    env: { FLEETPULSE_ADMIN_KEY: KEY },
    config: {
      data_dir: path.join(dir, 'data'),
      http: { host: '127.0.0.1', port: 0 },
      influx: { url: influx.url, database: db },
      // Polled every second: a plug that got through would be asked at once.
      plugins: { plug: { shelly: { poll_interval_s: 1 } } },
    },
  });
}, 40_000);

afterAll(async () => {
  await serve?.stop('SIGKILL');
  await new Promise((resolve) => listener?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const api = (method: string, url: string, body?: unknown) =>
  fetch(`${serve.url}/api/v1${url}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const plug = (id: string, address: string) => ({ id, kind: 'plug', labels: { protocol: 'shelly', address } });

describe('plug addresses through the outbound policy (real serve, real influxd)', () => {
  it('refuses influxd, loopback and metadata addresses at registration with a 400 naming labels.address, and never fetches them', async () => {
    const port = (listener.address() as AddressInfo).port;
    const hostile: Array<[string, RegExp]> = [
      [`127.0.0.1:${influx.port}/query?q=DROP+DATABASE+${db}#`, /must be host or host:port/],
      [`127.0.0.1:${port}`, /loopback address/],
      [`2130706433:${port}`, /loopback address/],
      [`[::ffff:127.0.0.1]:${port}`, /IPv4-mapped 127\.0\.0\.1\) is a loopback/],
      [`localhost:${port}`, /loopback name/],
      ['169.254.169.254', /cloud metadata/],
      ['[fd00:ec2::254]', /cloud metadata/],
      ['metadata.google.internal', /cloud metadata name/],
    ];
    for (const [i, [address, reason]] of hostile.entries()) {
      const res = await api('POST', '/devices', plug(`evil-${i}`, address));
      const body = (await res.json()) as { error: { code: string; field: string; message: string } };
      expect(res.status, address).toBe(400);
      expect(body.error, address).toMatchObject({
        code: 'FP_VALIDATION',
        field: 'labels.address',
        message: expect.stringMatching(reason),
      });
      expect((await api('GET', `/devices/evil-${i}`)).status, address).toBe(404);
    }

    // A change of labels is checked too, and so is every import row.
    expect((await api('POST', '/devices', plug('venue-plug', '192.168.20.31'))).status).toBe(201);
    const patched = await api('PATCH', '/devices/venue-plug', {
      labels: { protocol: 'shelly', address: `127.0.0.1:${port}` },
    });
    expect(patched.status).toBe(400);
    expect(((await patched.json()) as { error: { field: string } }).error.field).toBe('labels.address');
    const imported = await api('POST', '/devices/import', [
      plug('ok-plug', '10.0.0.7:8080'),
      plug('bad-plug', `127.0.0.1:${influx.port}`),
    ]);
    expect(imported.status).toBe(422);
    expect(((await imported.json()) as { error: { details: { errors: unknown[] } } }).error.details.errors).toEqual([
      { row: 2, field: 'labels.address', message: expect.stringMatching(/loopback address/) },
    ]);

    // The server keeps serving and polls (the venue plug: whatever answers there), and never asked the listener.
    const events = async () =>
      (await (await fetch(`${serve.url}/metrics`)).text()).match(
        /fleetpulse_plugin_events_total\{[^}]*event="shelly_[a-z_]+"[^}]*\} (\d+)/,
      );
    await expect.poll(events, { timeout: 20_000 }).toBeTruthy();
    expect(hits).toBe(0);
    expect((await influx.query('SHOW DATABASES')).flatMap((s) => s.values.map((v) => v[0]))).toContain(db);
  }, 60_000);
});
