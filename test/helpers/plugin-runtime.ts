import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { apiPlugin } from '../../api/index.ts';
import { openInventory, ROLES, type Inventory, type Role } from '../../collector/inventory/index.ts';
import { Spool, type SpoolOptions } from '../../collector/pipeline/spool.ts';
import { openStateDb } from '../../collector/pipeline/state-db.ts';
import { Operations } from '../../collector/operations/operations.ts';
import { Collector } from '../../collector/runtime/collector.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { networkList, trustedProxies } from '../../collector/runtime/client-address.ts';
import { SharedServer } from '../../collector/runtime/shared-server.ts';
import type { DeviceDirectory, Plugin } from '../../collector/sdk/index.ts';

export interface PluginRuntime {
  /** `http://127.0.0.1:<port>` of the shared server (`https://` with `https`). */
  url: string;
  /** The shared server's HTTP server (to watch its requests and upgrades). */
  server: Server;
  collector: Collector;
  metrics: SelfMetrics;
  spool: Spool;
  /** The spool's own database file (for test/helpers/full-disk.ts). */
  spoolDb: Database.Database;
  /** The database plugins keep their own tables in (the inventory's when the API is mounted, as in serve). */
  pluginDb: Database.Database;
  /** The `Authorization` header of an API key with that role (with `api` only). */
  token(role: Role): string;
  /** Spool lines after committing what waits, optionally only those of one measurement. */
  lines(measurement?: string): string[];
  /** Only the lines committed so far: what is durable now (see `spoolCommitMs`). */
  committedLines(measurement?: string): string[];
  /** The value of `fleetpulse_plugin_events_total{plugin, event}` (0 when never counted). */
  events(plugin: string, event: string): Promise<number>;
  stop: () => Promise<void>;
}

/**
 * The real runtime for plugin tests: a Collector with a SharedServer (Fastify on 127.0.0.1, a
 * free port) and a Spool on a temporary SQLite file as its sink. Nothing is mocked; `stop()`
 * closes everything and removes the files.
 */
export async function startPluginRuntime(options: {
  plugins: readonly Plugin[];
  pluginConfig: Record<string, unknown>;
  directory: DeviceDirectory;
  /**
   * How long emitted lines wait in memory before the spool commits them, ms. Default 5: a test
   * reading the spool right after `committed()` sees the lines. A long wait makes "answered only
   * after the point is durable" observable in `committedLines()`.
   */
  spoolCommitMs?: number;
  /**
   * Mounts the real API (a temporary inventory with one API key per role) with the plugins' API
   * routes inside it, exactly as `serve` does. `commands`: also the durable commands
   * (`POST /api/v1/commands` and the rest of the operations routes) over the collector's bus; the
   * directory's devices are entered in the inventory, which the command queue looks devices up in.
   */
  api?: { kinds: string[]; commands?: boolean };
  /** The spool's size and policy when full (default: 1 GiB, drop_oldest). */
  spool?: Pick<SpoolOptions, 'maxBytes' | 'whenFull'>;
  /** The runtime's and plugins' clock (`ctx.clock`), to move time on without waiting. Default: the real one. */
  clock?: { now(): number };
  /** The server's own TLS certificate and key (PEM), as serve's `http.tls`: https:// and wss:// only. */
  https?: { cert: Buffer; key: Buffer };
  /** Networks of proxies trusted for X-Forwarded-For and X-Forwarded-Proto, as serve's `http.trust_proxy`. */
  trustProxy?: string[];
}): Promise<PluginRuntime> {
  const { spoolCommitMs = 5, api, spool: spoolOptions, clock, https, trustProxy, ...plugins } = options;
  const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-plugin-'));
  const db = openStateDb(join(dir, 'state.db'));
  const metrics = new SelfMetrics('test');
  const spool = new Spool({
    db,
    commitIntervalMs: spoolCommitMs,
    ...spoolOptions,
    onDrop: (n, reason) => metrics.pointsDropped.labels(reason).inc(n),
  });
  const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
  const loggerInstance: FastifyBaseLogger = log;
  // Typed as http's, as in serve (Fastify's type follows the option).
  const app = Fastify({ loggerInstance, ...(https && { https }) }) as unknown as FastifyInstance;
  const proxies = trustProxy ? trustedProxies(networkList(trustProxy)) : undefined;
  const server = new SharedServer(app, { proxies, tls: https, proxied: trustProxy !== undefined });
  let inventory: Inventory | undefined;
  let operations: Operations | undefined;
  const keys = new Map<Role, string>();
  if (api) {
    const opened = openInventory({ path: join(dir, 'inventory.db'), secretKey: Buffer.alloc(32, 7) });
    inventory = opened;
    for (const role of ROLES) keys.set(role, opened.apiKeys.create({ name: `test-${role}`, role }).key);
    // Registered when the server loads (at listen), once the collector and its bus exist.
    void app.register(
      async (scope) =>
        scope.register(apiPlugin, {
          inventory: opened,
          kinds: api.kinds,
          extend: (api) => server.mountApiRoutes(api),
          ...(operations && { operations }),
        }),
      { prefix: '/api/v1' },
    );
  }
  const pluginDb = inventory?.db ?? db;
  const collector = new Collector({
    place: 'serve',
    ...plugins,
    sink: spool,
    db,
    pluginDb,
    audit: inventory && ((row) => inventory.audit.recordDevice(row)),
    metrics,
    log,
    server,
    clock,
  });
  if (inventory && api?.commands) {
    for (const d of plugins.directory.all()) inventory.devices.create({ id: d.id, kind: d.kind });
    operations = new Operations({
      inventory,
      bus: collector.bus,
      plugins: plugins.plugins,
      emit: (point) => collector.emitter.system(point),
      log,
      options: { commands: { pollMs: 20 } },
    });
  }
  await collector.start();
  operations?.start();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const committedLines = (measurement?: string) => {
    const all = spool.read(0, Number.MAX_SAFE_INTEGER)?.lines() ?? [];
    return measurement === undefined
      ? all
      : all.filter((l) => l.startsWith(`${measurement},`) || l.startsWith(`${measurement} `));
  };
  return {
    url: `${https ? 'https' : 'http'}://127.0.0.1:${port}`,
    server: app.server,
    collector,
    metrics,
    spool,
    spoolDb: db,
    pluginDb,
    token(role) {
      const key = keys.get(role);
      if (!key) throw new Error('startPluginRuntime: API keys exist only with the `api` option');
      return `Bearer ${key}`;
    },
    lines(measurement) {
      spool.commit();
      return committedLines(measurement);
    },
    committedLines,
    async events(plugin, event) {
      const sample = (await metrics.pluginEvents.get()).values.find(
        (v) => v.labels.plugin === plugin && v.labels.event === event,
      );
      return sample?.value ?? 0;
    },
    async stop() {
      await operations?.stop(500);
      await collector.stop(2000);
      await app.close();
      // Plugins close their devices' sockets in stop() without waiting for the close handshake;
      // the late 'close' events still report liveness. Let them land before the spool closes.
      await new Promise((resolve) => setTimeout(resolve, 100));
      spool.close();
      db.close();
      inventory?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
