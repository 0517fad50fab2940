/**
 * A private `influxd` (InfluxDB 1.x) child process: the embedded default of `fleetpulse serve`
 * when no InfluxDB URL is configured, and what the tests write into.
 *
 * Everything lives under `dataDir` (generated config, meta, data, wal). HTTP and the RPC
 * bind-address listen on loopback only, on free ports; nothing else (UDP, graphite, collectd,
 * opentsdb, the `_internal` monitor database, usage reporting, query and HTTP access logs) is on.
 * The child's stdout/stderr are kept in a small ring buffer for error messages, never printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findExecutable } from './find-executable.ts';
import { influxdConfig } from './influxd-config.ts';
import { freePort, portIsFree } from './ports.ts';

export const INFLUXD_INSTALL_HINT =
  'influxd not found on PATH. Install InfluxDB: `sudo apt-get install -y influxdb` (Debian/Ubuntu), ' +
  'or run `docker compose up -d influxdb` and set influx.url';

export class InfluxdNotFoundError extends Error {
  constructor() {
    super(INFLUXD_INSTALL_HINT);
    this.name = 'InfluxdNotFoundError';
  }
}

/** The HTTP port asked for is taken by another process. */
export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`influxd: 127.0.0.1:${port} is already in use (address already in use)`);
    this.name = 'PortInUseError';
  }
}

/** The part of a pino logger this module uses. */
export interface InfluxdLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface StartInfluxdOptions {
  /** Created if missing. Holds `influxdb.conf`, `meta/`, `data/`, `wal/`. */
  dataDir: string;
  /** HTTP port; default: a free one. Pass the previous `port` to restart on the same URL. */
  port?: number;
  /** RPC (backup/restore) port; default: a free one. */
  bindPort?: number;
  log?: InfluxdLog;
  /** How long to wait for `GET /ping` to answer 204. Default 30 s. */
  startTimeoutMs?: number;
  /** Executable; default: `influxd` looked up on PATH. */
  binary?: string;
}

export interface LocalInfluxd {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  /** SIGTERM, then SIGKILL after 5 s. Resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when the process has exited, whether stopped or died (its owner restarts it). */
  readonly exited: Promise<void>;
  /** The last lines the child wrote (stdout and stderr, at most 50). */
  outputTail(): string[];
}

const RING_LINES = 50;
const PID_FILE = 'influxd.pid';

/** The pid of the influxd running on `dataDir`'s configuration, if one runs. */
async function runningOn(dataDir: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number(await readFile(path.join(dataDir, PID_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  let cmdline: string;
  try {
    cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined; // not running (or no /proc)
  }
  return cmdline.includes(path.join(dataDir, 'influxdb.conf')) ? pid : undefined;
}

/**
 * The HTTP URL and RPC (backup/restore) address of the influxd a `serve` started on `dataDir`
 * (`<data_dir>/influxdb`), while it runs: so that `fleetpulse report` and the backups find the
 * embedded database without being told its ports.
 */
export async function embeddedInfluxdAddresses(dataDir: string): Promise<{ url: string; rpc: string } | undefined> {
  if ((await runningOn(dataDir)) === undefined) return undefined;
  const conf = await readFile(path.join(dataDir, 'influxdb.conf'), 'utf8').catch(() => '');
  // The first bind-address is the top-level (RPC) one; [http] has its own.
  const rpc = /^bind-address = "([^"]+)"/m.exec(conf);
  const http = /^\[http\][^[]*?bind-address = "([^"]+)"/m.exec(conf);
  return http && rpc ? { url: `http://${http[1]}`, rpc: rpc[1] } : undefined;
}

export async function embeddedInfluxdUrl(dataDir: string): Promise<string | undefined> {
  return (await embeddedInfluxdAddresses(dataDir))?.url;
}

/**
 * An owner killed with SIGKILL leaves its influxd running (it is in its own process group), and
 * that one holds the data directory: stop it before starting a new one. Only the owner of the
 * data dir gets here (serve takes `<data_dir>/.lock` first, collector/runtime/data-dir-lock.ts),
 * so an influxd that runs on this dir's configuration is one whose owner is gone: a leftover.
 */
async function stopLeftover(dataDir: string, log?: InfluxdLog): Promise<void> {
  const pid = await runningOn(dataDir);
  if (pid === undefined) return;
  log?.warn(`influxd: stopping a leftover influxd (pid ${pid}) on ${dataDir}, left by an owner that is gone`);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  process.kill(pid, 'SIGKILL');
}
const KILL_AFTER_MS = 5_000;

class LineRing {
  private readonly lines: string[] = [];
  private partial = '';
  constructor(private readonly max: number) {}
  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
    if (this.partial.length > 8192) {
      this.add(this.partial);
      this.partial = '';
    }
  }
  private add(line: string): void {
    if (!line.trim()) return;
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  tail(): string[] {
    return this.partial.trim() ? [...this.lines, this.partial].slice(-this.max) : [...this.lines];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function ping(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  } catch {
    return undefined;
  }
}

/** The child's environment without INFLUXDB_* overrides, which influxd would apply on top of the config. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('INFLUXDB_')) env[key] = value;
  }
  return env;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts `influxd` and resolves once `GET /ping` answers 204. Throws `InfluxdNotFoundError` if
 * there is no `influxd`, and an error carrying the child's output tail if it exits or does not
 * answer within `startTimeoutMs`.
 */
export async function startInfluxd(opts: StartInfluxdOptions): Promise<LocalInfluxd> {
  const binary = findExecutable(opts.binary ?? 'influxd');
  if (!binary) throw new InfluxdNotFoundError();
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });

  // A port found free may be taken before influxd binds it; when we chose the ports ourselves,
  // try again with new ones. A caller-given port is kept (restarts must keep their URL).
  const attempts = opts.port === undefined || opts.bindPort === undefined ? 3 : 1;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = opts.port ?? (await freePort());
    let bindPort = opts.bindPort ?? (await freePort());
    while (bindPort === port) bindPort = await freePort();
    try {
      return await startOnce({ ...opts, dataDir, binary, port, bindPort });
    } catch (err) {
      lastError = err as Error;
      // Retry only when a port we picked ourselves was taken in the meantime.
      if (!/address already in use/i.test(lastError.message)) throw lastError;
      if (err instanceof PortInUseError && opts.port !== undefined) throw lastError;
      opts.log?.warn(`influxd: port taken (${port}/${bindPort}), retrying with other ports`);
    }
  }
  throw lastError ?? new Error('influxd did not start');
}

async function startOnce(opts: {
  dataDir: string;
  binary: string;
  port: number;
  bindPort: number;
  log?: InfluxdLog;
  startTimeoutMs?: number;
}): Promise<LocalInfluxd> {
  const { dataDir, port, bindPort } = opts;
  // First the leftover: on a fixed port it is what holds the port.
  await stopLeftover(dataDir, opts.log);
  // Another process on a caller-given port would answer our /ping: refuse up front.
  if (!(await portIsFree(port))) {
    throw new PortInUseError(port);
  }
  const configPath = path.join(dataDir, 'influxdb.conf');
  await writeFile(configPath, influxdConfig({ dataDir, port, bindPort }));
  const url = `http://127.0.0.1:${port}`;
  const ring = new LineRing(RING_LINES);
  // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and influxd
  // must outlive the owner's shutdown until the spool has been flushed into it.
  const child = spawn(opts.binary, ['-config', configPath], {
    cwd: dataDir,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid) await writeFile(path.join(dataDir, PID_FILE), String(child.pid));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => ring.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => ring.push(chunk));

  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  const exited = waitForExit(child);
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });

  const describeFailure = (what: string) => {
    const tail = ring.tail();
    return new Error(
      `influxd (${opts.binary} -config ${configPath}) ${what}` +
        (tail.length ? `; last output:\n${tail.join('\n')}` : '; it wrote nothing'),
    );
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (hasExited || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, KILL_AFTER_MS);
      try {
        await exited;
      } finally {
        clearTimeout(killTimer);
      }
      opts.log?.info(`influxd ${url} (pid ${child.pid}) stopped`);
    })();
    return stopping;
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    if (spawnError) throw describeFailure(`could not be started: ${spawnError.message}`);
    if (hasExited) {
      await sleep(20); // let the last output arrive
      throw describeFailure(
        `exited during start-up (code ${child.exitCode ?? 'none'}, signal ${child.signalCode ?? 'none'})`,
      );
    }
    const status = await ping(url);
    if (status === 204) break;
    if (Date.now() >= deadline) {
      await stop();
      throw describeFailure(
        `did not answer GET ${url}/ping with 204 within ${opts.startTimeoutMs ?? 30_000} ms` +
          (status !== undefined ? ` (last status ${status})` : ''),
      );
    }
    await sleep(50);
  }

  // If the parent goes away without stop(), do not leave influxd behind.
  const onParentExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', onParentExit);
  void exited.then(() => process.off('exit', onParentExit));

  opts.log?.info(`influxd ${url} (pid ${child.pid}) started, data in ${dataDir}`);
  return {
    url,
    port,
    pid: child.pid!,
    dataDir,
    stop,
    exited,
    outputTail: () => ring.tail(),
  };
}
