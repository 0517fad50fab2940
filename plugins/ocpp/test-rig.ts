/**
 * The real runtime around the OCPP plugin for its tests: a Collector with a SharedServer
 * (Fastify on 127.0.0.1, a free port), a Spool on a temp SQLite file as the sink, a separate temp
 * SQLite file as the inventory database, a MemoryDirectory holding charger passwords, and real
 * ocpp-rpc clients as chargers. The plugin's API routes are mounted in the real API (a temp
 * inventory with one API key per role), exactly as `serve` mounts them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { RPCClient } from 'ocpp-rpc';
import pino from 'pino';
import { apiPlugin } from '../../api/index.ts';
import { openInventory, ROLES, type Role } from '../../collector/inventory/index.ts';
import { openStateDb, Spool } from '../../collector/pipeline/spool.ts';
import { Collector } from '../../collector/runtime/collector.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { SharedServer } from '../../collector/runtime/shared-server.ts';
import type { MemoryDirectory } from '../../collector/sdk/index.ts';
import ocpp from './index.ts';

/** API keys of the rig started last, one per role. */
const keys = new Map<Role, string>();
/** The `Authorization` header of an API key with that role. */
export const token = (role: Role) => `Bearer ${keys.get(role)}`;

export interface Rig {
  url: string;
  ws: string;
  collector: Collector;
  directory: MemoryDirectory;
  db: Database.Database;
  /** Lines committed to the spool table (durable), optionally of one measurement. */
  lines(measurement?: string): string[];
  events(event: string): Promise<number>;
  charger(identity: string, version: 'ocpp1.6' | 'ocpp2.0.1', options?: { password?: string; protocols?: string[] }): Promise<RPCClient>;
  stop(): Promise<void>;
}

/**
 * `spoolCommitMs`: how long emitted lines wait in memory before the spool commits them. A long
 * wait makes "answered only after the point is durable" observable: a line read from the spool
 * table right after an answer is there only because the plugin waited for `ctx.committed()`.
 */
export async function startRig(directory: MemoryDirectory, config: Record<string, unknown> = {}, spoolCommitMs = 5): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpulse-ocpp-'));
  const state = openStateDb(join(dir, 'state.db'));
  const inventory = openInventory({ path: join(dir, 'inventory.db'), secretKey: Buffer.alloc(32, 7) });
  const db = inventory.db;
  for (const role of ROLES) keys.set(role, inventory.apiKeys.create({ name: `test-${role}`, role }).key);
  const spool = new Spool({ db: state, commitIntervalMs: spoolCommitMs });
  const metrics = new SelfMetrics('test');
  const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
  const server = new SharedServer(app);
  void app.register(apiPlugin, { prefix: '/api/v1', inventory, kinds: ['charger'], extend: (api) => server.mountApiRoutes(api) });
  const collector = new Collector({
    place: 'serve',
    plugins: [ocpp],
    pluginConfig: { ocpp: config },
    sink: spool,
    db: state,
    pluginDb: db,
    directory,
    metrics,
    log,
    server,
  });
  await collector.start();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const clients: RPCClient[] = [];
  return {
    url: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ocpp`,
    collector,
    directory,
    db,
    // Committed lines only: what is durable now.
    lines: (measurement) => {
      const all = spool.read(0, Number.MAX_SAFE_INTEGER)?.lines() ?? [];
      return measurement ? all.filter((l) => l.startsWith(`${measurement},`) || l.startsWith(`${measurement} `)) : all;
    },
    events: async (event) => {
      const { values } = await metrics.pluginEvents.get();
      return values.find((v) => v.labels.plugin === 'ocpp' && v.labels.event === event)?.value ?? 0;
    },
    charger: async (identity, version, options = {}) => {
      const client = new RPCClient({
        endpoint: `ws://127.0.0.1:${port}/ocpp`,
        identity,
        password: options.password,
        protocols: options.protocols ?? [version],
        strictMode: true,
        reconnect: false,
      } as never);
      clients.push(client);
      await client.connect();
      return client;
    },
    stop: async () => {
      await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => {})));
      await collector.stop(2000);
      await app.close();
      spool.close();
      state.close();
      inventory.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { rawCall, rawFrame } from './sim-charger.ts';

/** Polls `check` until it is true (at most `tries` × 50 ms); returns its last result. */
export async function eventually(check: () => boolean | Promise<boolean>, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

export const boot16 = { chargePointVendor: 'Fleetpulse', chargePointModel: 'SIM-22', chargePointSerialNumber: 'SN-1', firmwareVersion: '1.2.3' };
export const boot201 = { reason: 'PowerUp', chargingStation: { vendorName: 'Fleetpulse', model: 'SIM-22', serialNumber: 'SN-2', firmwareVersion: '2.0.0' } };
