/**
 * The real runtime around the OCPP plugin for its tests: a Collector with a SharedServer
 * (Fastify on 127.0.0.1, a free port), a Spool on a temp SQLite file as the sink, a separate temp
 * SQLite file as the inventory database, a MemoryDirectory holding charger passwords, and real
 * ocpp-rpc clients as chargers. The API guard is a stand-in that maps fixed bearer tokens to
 * roles (`serve` wires the API's real guard).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { RPCClient } from 'ocpp-rpc';
import pino from 'pino';
import { openStateDb, Spool } from '../../collector/pipeline/spool.ts';
import { Collector } from '../../collector/runtime/collector.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { SharedServer } from '../../collector/runtime/shared-server.ts';
import type { MemoryDirectory, Role } from '../../collector/sdk/index.ts';
import ocpp from './index.ts';

const RANK: Record<Role, number> = { viewer: 0, support: 1, operator: 2, admin: 3 };
/** `Authorization: Bearer <role>-token` carries that role in tests. */
export const token = (role: Role) => `Bearer ${role}-token`;

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
  const db = new Database(join(dir, 'inventory.db'));
  db.pragma('journal_mode = WAL');
  const spool = new Spool({ db: state, commitIntervalMs: spoolCommitMs });
  const metrics = new SelfMetrics('test');
  const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
  const server = new SharedServer(app);
  server.guard = (role) => async (request, reply) => {
    const held = /^Bearer (\w+)-token$/.exec(request.headers.authorization ?? '')?.[1] as Role | undefined;
    if (!held || !(held in RANK)) return reply.code(401).send({ error: { code: 'FP_UNAUTHENTICATED', message: 'no key' } });
    if (RANK[held] < RANK[role]) return reply.code(403).send({ error: { code: 'FP_FORBIDDEN', message: `needs ${role}` } });
  };
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
  const selectLines = state.prepare('SELECT line FROM spool ORDER BY id').pluck();
  return {
    url: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ocpp`,
    collector,
    directory,
    db,
    // Committed lines only: what is durable now.
    lines: (measurement) => {
      const all = selectLines.all() as string[];
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
      db.close();
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
