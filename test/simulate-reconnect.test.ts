/**
 * Simulated agents and PCs through a serve restart (real `fleetpulse simulate` and `serve`
 * processes, real influxd): when serve goes away the status line says so (connected 0/n, not the
 * count ever reached), and when it is back on the same port every uplink reconnects by itself,
 * announces again and its points are acknowledged again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../collector/pipeline/ports.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { REPO_ROOT, startServe, type ServeProcess } from './helpers/serve-process.ts';

const influx = useInfluxd();
const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetpulse-simulate-reconnect-'));
const KEY = 'test-admin-key-7d1e2f3a4b5c6d7e8f9a0b1c';
const running: ServeProcess[] = [];
let simulator: ChildProcess | undefined;

afterAll(async () => {
  simulator?.kill('SIGKILL');
  for (const s of running) await s.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function until(
  what: string,
  done: () => boolean | Promise<boolean>,
  detail: () => string,
  limitMs = 60_000,
): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${detail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('simulate through a serve restart', () => {
  it('the status line drops to what is connected now, and every simulated uplink reconnects', async () => {
    const port = await freePort();
    const config = {
      data_dir: path.join(dir, 'data'),
      http: { host: '127.0.0.1', port },
      influx: { url: influx.url, database: await influx.freshDatabase() },
      pipeline: { flush_interval_ms: 100 },
    };
    const serve = async () => {
      const s = await startServe({ dir, config, env: { FLEETPULSE_ADMIN_KEY: KEY } });
      running.push(s);
      return s;
    };
    const first = await serve();

    // Not a TTY: the status line is printed every 5 s, one line each.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/fleetpulse.ts',
        'simulate',
        '--server',
        first.url,
        '--api-key',
        KEY,
        '--agents',
        '3',
        '--terminals-per-agent',
        '1',
        '--pcs',
        '2',
        '--opt',
        'interval_s=1',
      ],
      { cwd: REPO_ROOT, env: { ...process.env, FLEETPULSE_API_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    simulator = child;
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const statusLines = () => output.split('\n').filter((l) => /agents connected/.test(l));
    const lastStatus = () => statusLines().at(-1) ?? '';
    const tail = () => output.slice(-3000);
    const acked = (line: string) => Number(/points_acked (\d+)/.exec(line)?.[1] ?? 0);

    await until(
      'all connected',
      () => /agents connected 3\/3/.test(lastStatus()) && /pcs connected 2\/2/.test(lastStatus()),
      tail,
    );
    await first.stop('SIGKILL');
    await until(
      'the status line to say none is connected',
      () => /agents connected 0\/3/.test(lastStatus()) && /pcs connected 0\/2/.test(lastStatus()),
      tail,
    );
    const ackedWhileDown = acked(lastStatus());

    const second = await serve();
    expect(second.port).toBe(port);
    await until(
      'every uplink reconnected and acknowledged again',
      () =>
        /agents connected 3\/3/.test(lastStatus()) &&
        /pcs connected 2\/2/.test(lastStatus()) &&
        acked(lastStatus()) > ackedWhileDown,
      tail,
    );
    expect(child.exitCode).toBeNull();
    // Announced again: a command for a terminal behind a reconnected agent reaches it and is answered.
    const api = (route: string, body?: unknown) =>
      fetch(`${second.url}/api/v1${route}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> }));
    const queued = await api('/commands', { device: 'sim-agent-1-t1', name: 'get_diagnostics', params: {} });
    expect(queued.status, JSON.stringify(queued.body)).toBe(201);
    const id = String(queued.body.id ?? queued.body.ids?.[0]);
    let command: Record<string, any> = {};
    await until(
      'the command answered',
      async () => (command = (await api(`/commands/${id}`)).body).status === 'succeeded',
      () => JSON.stringify(command),
      30_000,
    );

    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    console.log(
      'simulate through a serve restart: status lines\n  ' +
        statusLines()
          .map((l) => l.trim())
          .join('\n  '),
    );
  }, 240_000);
});
