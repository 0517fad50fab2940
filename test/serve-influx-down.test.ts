/**
 * The real `fleetpulse serve` with an InfluxDB that does not answer:
 * - hung (accepts connections and never replies): serve listens and answers /healthz while the
 *   database is still being prepared in the background;
 * - stopped and back: a SIGTERM right after InfluxDB returns still flushes the spool.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { useInfluxd } from './helpers/influxd.ts';
import { pumpReadings, spooledLines, startServe, type ServeProcess } from './helpers/serve-process.ts';

const influx = useInfluxd();
const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-serve-influx-down-'));
const running: ServeProcess[] = [];
afterAll(async () => {
  for (const s of running) await s.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function until(done: () => boolean | Promise<boolean>, what: string, limitMs = 40_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function spooledPoints(url: string): Promise<number> {
  return ((await (await fetch(`${url}/healthz`)).json()) as { spool: { points: number } }).spool.points;
}

describe('serve: InfluxDB hung or just back', () => {
  it('listens at once while a hung InfluxDB holds the database request unanswered', async () => {
    const received: string[] = [];
    const sockets = new Set<net.Socket>();
    /** The connection that carries the database request (health's pings come on their own). */
    let asked: net.Socket | undefined;
    const hung = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('data', (d) => {
        received.push(d.toString());
        if (/SHOW(\+|%20| )DATABASES/.test(d.toString())) asked = socket;
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const port = (hung.address() as net.AddressInfo).port;
    const spawned = performance.now();
    const serve = await startServe({
      dir: mkdtempSync(path.join(dir, 'hung-')),
      config: {
        data_dir: path.join(dir, 'hung-data'),
        http: { host: '127.0.0.1', port: 0 },
        influx: { url: `http://127.0.0.1:${port}`, database: 'fleet' },
      },
    });
    running.push(serve);
    const listening = performance.now();
    await until(() => asked !== undefined, 'the database request at the hung InfluxDB');
    const health = await fetch(`${serve.url}/healthz`);
    const answered = performance.now();
    expect(health.status).toBe(200);
    // It says so: the ping (2 s limit) got no answer either.
    expect(((await health.json()) as { influx: { reachable: boolean } }).influx.reachable).toBe(false);
    console.log(
      `hung InfluxDB: serve listening ${Math.round(listening - spawned)} ms after spawn, ` +
        `/healthz answered ${Math.round(answered - spawned)} ms after spawn (its ping waits up to 2 s)`,
    );
    // Still unanswered: nothing was ever written back on any connection, and the request waits.
    expect([...sockets].every((s) => s.bytesWritten === 0)).toBe(true);
    expect(asked!.destroyed).toBe(false);
    expect(await serve.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    for (const s of sockets) s.destroy();
    await new Promise((r) => hung.close(r));
  });

  it('a SIGTERM right after an outage flushes the spool into InfluxDB and exits 0', async () => {
    const db = await influx.freshDatabase();
    const dataDir = path.join(dir, 'outage-data');
    const serve = await startServe({
      dir: mkdtempSync(path.join(dir, 'outage-')),
      config: {
        data_dir: dataDir,
        http: { host: '127.0.0.1', port: 0 },
        influx: { url: influx.url, database: db },
        pipeline: { flush_interval_ms: 50, shutdown_flush_s: 30 },
        plugins: { example: { accept_unknown: true } },
      },
    });
    running.push(serve);
    await until(() => serve.output().includes('InfluxDB database ready'), 'the database to be prepared');
    await influx.stop();
    const t0 = Date.now() - 3_600_000;
    const sensor = pumpReadings(serve.url, 'sensor-outage', { t0, signal: new AbortController().signal, limit: 3000 });
    await until(async () => (await spooledPoints(serve.url)) >= 3000, 'the readings to wait in the spool');
    await influx.start();
    const stopped = await serve.stop('SIGTERM');
    expect(stopped).toEqual({ code: 0, signal: null });
    expect((await sensor).sent).toBe(3000);
    const spool = new Database(path.join(dataDir, 'spool.db'));
    const left = spooledLines(spool).filter((l) => l.startsWith('sensor_reading,'));
    spool.close();
    expect(left).toEqual([]);
    expect(await influx.count('sensor_reading', db)).toBe(3000);
  });
});
