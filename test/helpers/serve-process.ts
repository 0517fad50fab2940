/**
 * Runs the real `fleetpulse serve` as a child process, for tests of what only a whole process
 * shows: exit codes, signals, a SIGKILL in the middle of a flush.
 *
 * The child is `node --import tsx bin/fleetpulse.ts serve --config <file>`: one process, so a
 * signal reaches serve itself (`node_modules/.bin/tsx` would put a supervisor in between, and a
 * SIGKILL of the supervisor leaves serve running). The configuration is written as YAML into the
 * test's temp dir; `http.port: 0` lets the OS choose, and the port is read from serve's start log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dump } from 'js-yaml';
import { afterAll } from 'vitest';
import type Database from 'better-sqlite3';
import { Spool } from '../../collector/pipeline/spool.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` of serve's HTTP server. */
  readonly url: string;
  readonly port: number;
  /** Everything the child wrote so far (stdout then stderr interleaved as received). */
  output(): string;
  /** Resolves when the child has exited. */
  readonly exited: Promise<ServeExit>;
  /** Sends a signal and waits for the exit (SIGKILL after `limitMs` if it does not come). */
  stop(signal?: NodeJS.Signals, limitMs?: number): Promise<ServeExit>;
}

export interface SpawnServeOptions {
  /** Written as the YAML config file `<dir>/fleetpulse.yaml`. */
  config: Record<string, unknown>;
  /** Temp dir of the test; the config file goes here. */
  dir: string;
  /** Extra environment; PATH and friends are inherited unless overridden. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the start log line, ms. Default 60 s (a loaded 2-core machine). */
  startTimeoutMs?: number;
  /** Command-line flags after `serve --config <file>`. */
  args?: string[];
  /** A command that execs serve (e.g. `nsenter … --`): serve keeps its pid, signals reach it. */
  prefix?: string[];
}

/**
 * Writes the YAML config and returns its path. A serve with the embedded influxd gets
 * `influx.embedded_port: 0` unless the test sets one: the default port (18086) is the one a
 * developer's own `fleetpulse serve` holds, and two test serves must not meet on it.
 */
export function writeConfig(dir: string, config: Record<string, unknown> | string): string {
  const file = path.join(dir, 'fleetpulse.yaml');
  if (typeof config !== 'string') config = withEmbeddedDefaults(config);
  writeFileSync(file, typeof config === 'string' ? config : dump(config));
  return file;
}

function withEmbeddedDefaults(config: Record<string, unknown>): Record<string, unknown> {
  const influx = (config.influx ?? {}) as Record<string, unknown>;
  if (influx.url) return config;
  const dataDir = path.resolve(REPO_ROOT, typeof config.data_dir === 'string' ? config.data_dir : './data');
  embeddedPidFiles.add(path.join(dataDir, 'influxdb', 'influxd.pid'));
  return { ...config, influx: { embedded_port: 0, ...influx } };
}

/**
 * A serve killed with SIGKILL leaves its embedded influxd running, as it would in production (the
 * next serve on the data dir stops it). Tests that end there must not leave it behind: the
 * influxds of this file's serves are killed after its tests (registered here, at import, on the
 * importing test file).
 */
const embeddedPidFiles = new Set<string>();
function reapEmbeddedInfluxds(): void {
  for (const file of embeddedPidFiles) {
    try {
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid > 1 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path.dirname(file)))
        process.kill(pid, 'SIGKILL');
    } catch {
      // No pid file, or that influxd is gone: nothing left behind.
    }
  }
  embeddedPidFiles.clear();
}
afterAll(reapEmbeddedInfluxds);

function spawnServe(
  configFile: string,
  env: NodeJS.ProcessEnv | undefined,
  args: string[] = [],
  prefix: string[] = [],
) {
  const command = [process.execPath, '--import', 'tsx', 'bin/fleetpulse.ts', 'serve', '--config', configFile, ...args];
  const [file, ...rest] = [...prefix, ...command];
  const child = spawn(file, rest, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<ServeExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited };
}

/**
 * Runs serve expecting it to exit by itself (invalid configuration, missing influxd): resolves
 * with the exit code and output; kills it after `limitMs` (default 60 s: a limit for a hung
 * process, not a timing assertion).
 */
export async function runServeToExit(
  config: Record<string, unknown> | string,
  dir: string,
  env?: NodeJS.ProcessEnv,
  { limitMs = 60_000, args = [] }: { limitMs?: number; args?: string[] } = {},
): Promise<ServeExit & { output: string }> {
  const { child, output, exited } = spawnServe(writeConfig(dir, config), env, args);
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const exit = await exited;
  clearTimeout(timer);
  return { ...exit, output: output() };
}

/** Starts serve and resolves once it logged that it is running (rejects if it exits first). */
export async function startServe(options: SpawnServeOptions): Promise<ServeProcess> {
  const { child, output, exited } = spawnServe(
    writeConfig(options.dir, options.config),
    options.env,
    options.args,
    options.prefix,
  );
  const limit = options.startTimeoutMs ?? 60_000;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start within ${limit} ms:\n${output()}`));
    }, limit);
    const look = () => {
      const m = /"address":\{"address":"[^"]*","family":"[^"]*","port":(\d+)\}/.exec(output());
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', look);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', look);
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (code ${e.code}, signal ${e.signal}) before it was running:\n${output()}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    output,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', limitMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}

/**
 * The value of one sample on serve's /metrics, e.g. `fleetpulse_points_dropped_total{reason="spool_full"}`; 0 when
 * absent.
 */
export async function metricValue(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const row of text.split('\n')) {
    if (row.startsWith(sample + ' ')) return Number(row.slice(sample.length + 1));
  }
  return 0;
}

/**
 * An example-plugin sensor (plugins/example protocol) sending readings as fast as serve takes
 * them: reading k has `t = t0 + k` and `uptime_s = k`, so every reading of a device is
 * identifiable in InfluxDB. Sends up to `limit` readings, stays connected until `signal` aborts or
 * the server closes the socket, and resolves with the number sent and the close code.
 */
export async function pumpReadings(
  serveUrl: string,
  device: string,
  /** `perSecond`: readings sent per second (default 2,000), kept well below what serve can take. */
  opts: { t0: number; signal: AbortSignal; limit?: number; perSecond?: number },
): Promise<{ sent: number; closeCode: number }> {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(`${serveUrl.replace(/^http/, 'ws')}/example/${encodeURIComponent(device)}`);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`sensor ${device}: HTTP ${res.statusCode}`)));
  });
  let sent = 0;
  const perTick = Math.max(1, Math.round((opts.perSecond ?? 2000) / 100));
  const limit = opts.limit ?? Number.MAX_SAFE_INTEGER;
  const onAbort = () => ws.close(1000);
  opts.signal.addEventListener('abort', onAbort, { once: true });
  while (!opts.signal.aborted && ws.readyState === WebSocket.OPEN && sent < limit) {
    for (let i = 0; i < perTick && sent < limit; i++, sent++) {
      ws.send(
        JSON.stringify({
          type: 'reading',
          t: opts.t0 + sent,
          temperature_c: 20 + (sent % 50) / 10,
          humidity_pct: 40,
          uptime_s: sent,
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  // After `limit`, stay connected until the server closes or the test aborts.
  const closeCode = await closed;
  opts.signal.removeEventListener('abort', onAbort);
  return { sent, closeCode };
}

/** Every line in a spool file, oldest first, through the spool's own reader (a row holds several lines). */
export function spooledLines(db: Database.Database): string[] {
  return new Spool({ db }).read(0, Number.MAX_SAFE_INTEGER)?.lines() ?? [];
}
