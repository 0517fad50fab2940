/**
 * One owner per data dir, with the real serve processes and their embedded influxd: a second
 * serve on the same data dir is refused before it touches anything; after a kill -9 the next
 * one takes over and stops the influxd the dead one left; an influxd that dies under a running
 * serve is started again and writes resume; a taken embedded port is refused naming its key.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfluxQuery } from '../collector/pipeline/influx-query.ts';
import { freePort } from '../collector/pipeline/ports.ts';
import { until } from './helpers/agent-rig.ts';
import { pumpReadings, runServeToExit, startServe, type ServeProcess } from './helpers/serve-process.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-serve-owner-'));
const running: ServeProcess[] = [];
const influxdPids: number[] = [];
afterAll(async () => {
  for (const s of running) await s.stop('SIGTERM');
  for (const pid of influxdPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function caseDir(): string {
  const dir = path.join(root, String(++n));
  mkdirSync(dir);
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid the embedded influxd recorded (collector/pipeline/local-influxd.ts). */
function influxdPid(dataDir: string): number {
  const pid = Number(readFileSync(path.join(dataDir, 'influxdb', 'influxd.pid'), 'utf8'));
  influxdPids.push(pid);
  return pid;
}

async function healthz(
  url: string,
): Promise<{ status: number; body: { status: string; influx: { reachable: boolean } } }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as never };
}

async function pings(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) })).status === 204;
  } catch {
    return false;
  }
}

/** Readings of `device` in the embedded influxd; 0 until the drain has created the database. */
async function stored(influxUrl: string, device: string): Promise<number> {
  try {
    const series = await new InfluxQuery({ url: influxUrl, database: 'fleetpulse' }).query(
      `SELECT COUNT(uptime_s) FROM sensor_reading WHERE device = '${device}'`,
    );
    return (series[0]?.values[0]?.[1] as number | undefined) ?? 0;
  } catch (err) {
    // Killed right after start, the first influxd may not have been asked for the database yet.
    if (/database not found/.test((err as Error).message)) return 0;
    throw err;
  }
}

async function ownerConfig(dataDir: string) {
  return {
    data_dir: dataDir,
    http: { host: '127.0.0.1', port: 0 },
    influx: { embedded_port: await freePort() },
    pipeline: { flush_interval_ms: 100 },
    plugins: { example: { accept_unknown: true } },
  };
}

describe('serve: one owner per data dir', () => {
  it('refuses a second serve on the same data dir with exit 2 naming the dir and the pid; the first and its influxd keep serving; after kill -9 the next takes over the leftover influxd', async () => {
    const dataDir = path.join(caseDir(), 'data');
    const config = await ownerConfig(dataDir);
    const influxUrl = `http://127.0.0.1:${config.influx.embedded_port}`;
    const first = await startServe({ config, dir: caseDir() });
    running.push(first);
    expect(first.output()).toContain(`embedded InfluxDB ${influxUrl}, database fleetpulse`);
    const firstInfluxd = influxdPid(dataDir);

    const second = await runServeToExit(config, caseDir());
    expect(second.code).toBe(2);
    expect(second.output).toContain(`${dataDir} is in use by another fleetpulse process (pid ${first.pid})`);
    expect(second.output).not.toMatch(/leftover|influxd .* started/);
    // The first's influxd is the same process and answers; the first still writes into it.
    expect(alive(firstInfluxd)).toBe(true);
    expect(await pings(influxUrl)).toBe(true);
    const stop = new AbortController();
    void pumpReadings(first.url, 'sensor-a', { t0: Date.now() - 60_000, signal: stop.signal, limit: 50 });
    await until(
      'the first serve stores readings after the refusal',
      async () => (await stored(influxUrl, 'sensor-a')) === 50,
    );
    stop.abort();
    expect((await healthz(first.url)).status).toBe(200);

    // kill -9: the lock dies with the process; influxd (its own process group) is left behind.
    expect(await first.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    expect(alive(firstInfluxd)).toBe(true);
    const next = await startServe({ config, dir: caseDir() });
    running.push(next);
    expect(next.output()).toContain(`stopping a leftover influxd (pid ${firstInfluxd})`);
    await until('the leftover influxd has exited', () => !alive(firstInfluxd));
    const nextInfluxd = influxdPid(dataDir);
    expect(nextInfluxd).not.toBe(firstInfluxd);
    expect(await stored(influxUrl, 'sensor-a')).toBe(50);
    await next.stop();
  });

  it('starts the embedded influxd again when it dies under a running serve, and writes resume', async () => {
    const dataDir = path.join(caseDir(), 'data');
    const config = await ownerConfig(dataDir);
    const influxUrl = `http://127.0.0.1:${config.influx.embedded_port}`;
    const serve = await startServe({ config, dir: caseDir() });
    running.push(serve);
    const dead = influxdPid(dataDir);
    process.kill(dead, 'SIGKILL');
    await until(
      'serve says it starts influxd again',
      () => serve.output().includes('the embedded influxd is running again'),
      60_000,
    );
    expect(influxdPid(dataDir)).not.toBe(dead);
    expect(await pings(influxUrl)).toBe(true);
    const stop = new AbortController();
    void pumpReadings(serve.url, 'sensor-b', { t0: Date.now() - 60_000, signal: stop.signal, limit: 50 });
    await until('readings stored in the restarted influxd', async () => (await stored(influxUrl, 'sensor-b')) === 50);
    stop.abort();
    expect((await healthz(serve.url)).body.influx.reachable).toBe(true);
    expect(await serve.stop()).toEqual({ code: 0, signal: null });
  });

  it('refuses a taken influx.embedded_port with exit 2 naming the key, before it starts anything', async () => {
    const blocker: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    try {
      const dataDir = path.join(caseDir(), 'data');
      const exit = await runServeToExit(
        { ...(await ownerConfig(dataDir)), influx: { embedded_port: port } },
        caseDir(),
      );
      expect(exit.output).toContain(`influx.embedded_port: 127.0.0.1:${port} is already in use`);
      expect(exit.code).toBe(2);
      expect(existsSync(path.join(dataDir, 'influxdb'))).toBe(false);
      expect(existsSync(path.join(dataDir, 'spool.db'))).toBe(false);
    } finally {
      blocker.close();
    }
  });
});
