/**
 * The real runtime around the OCPP plugin for its tests (test/helpers/plugin-runtime.ts, with the
 * real API mounted as `serve` mounts it), a MemoryDirectory holding charger passwords, and real
 * ocpp-rpc clients as chargers.
 */
import type Database from 'better-sqlite3';
import { RPCClient } from 'ocpp-rpc';
import type { Spool } from '../../collector/pipeline/spool.ts';
import type { MemoryDirectory, Role } from '../../collector/sdk/index.ts';
import type { InfluxdFixture } from '../../test/helpers/influxd.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import ocpp from './index.ts';

/** The `Authorization` header of an API key with that role, of the rig started last. */
export let token: (role: Role) => string = () => {
  throw new Error('no rig started');
};

/** How a command sent through the API ended: its record, or the request's refusal. */
export interface CommandEnd {
  http: number;
  status?: string;
  result?: any;
  error?: { code: string; message: string; field?: string } | string | null;
}

export interface Rig {
  url: string;
  ws: string;
  server: PluginRuntime['server'];
  collector: PluginRuntime['collector'];
  directory: MemoryDirectory;
  /** The inventory database, where the plugin keeps its tables (as in serve). */
  db: Database.Database;
  spool: Spool;
  /** The spool's own database file, beside the inventory's (as in serve). */
  spoolDb: Database.Database;
  /** Lines committed to the spool table (durable), optionally of one measurement. */
  lines(measurement?: string): string[];
  /** Every spooled line, also those still waiting for the next commit (commits them first). */
  allLines(measurement?: string): string[];
  events(event: string): Promise<number>;
  /**
   * `POST /api/v1/commands` as an operator, then the command once it has ended (with `commands`
   * only). A refused request resolves with its HTTP status and error instead.
   */
  command(device: string, name: string, params?: object): Promise<CommandEnd>;
  charger(
    identity: string,
    version: 'ocpp1.6' | 'ocpp2.0.1',
    options?: {
      password?: string;
      protocols?: string[];
      /** TLS options for wss:// (ca to trust, a client certificate and key). */
      tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
      headers?: Record<string, string>;
      /** Another endpoint than the rig's own (a plain ws:// one, say). */
      endpoint?: string;
    },
  ): Promise<RPCClient>;
  stop(): Promise<void>;
}

/**
 * `spoolCommitMs`: how long emitted lines wait in memory before the spool commits them. A long
 * wait makes "answered only after the point is durable" observable: a line read from the spool
 * table right after an answer is there only because the plugin waited for `ctx.committed()`.
 */
export async function startRig(
  directory: MemoryDirectory,
  config: Record<string, unknown> = {},
  spoolCommitMs = 5,
  runtime: {
    clock?: { now(): number };
    https?: { cert: Buffer; key: Buffer };
    trustProxy?: string[];
    /** Durable commands through `POST /api/v1/commands` (see `Rig.command`). */
    commands?: boolean;
  } = {},
): Promise<Rig> {
  const { commands, ...rest } = runtime;
  const rt = await startPluginRuntime({
    plugins: [ocpp],
    pluginConfig: { ocpp: config },
    directory,
    spoolCommitMs,
    api: { kinds: ['charger'], commands },
    ...rest,
  });
  token = (role) => rt.token(role);
  const ws = `${rt.url.replace(/^http/, 'ws')}/ocpp`;
  const clients: RPCClient[] = [];
  return {
    url: rt.url,
    ws,
    server: rt.server,
    collector: rt.collector,
    directory,
    db: rt.pluginDb,
    spool: rt.spool,
    spoolDb: rt.spoolDb,
    lines: (measurement) => rt.committedLines(measurement),
    allLines: (measurement) => rt.lines(measurement),
    events: (event) => rt.events('ocpp', event),
    command: async (device, name, params = {}) => {
      const headers = { authorization: rt.token('operator'), 'content-type': 'application/json' };
      const url = `${rt.url}/api/v1/commands`;
      const body = JSON.stringify({ device, name, params, timeout_s: 5 });
      const created = await fetch(url, { method: 'POST', headers, body });
      const answer = (await created.json()) as { ids?: string[]; error?: CommandEnd['error'] };
      if (created.status !== 201) return { http: created.status, error: answer.error };
      const read = async () => (await (await fetch(`${url}/${answer.ids![0]}`, { headers })).json()) as CommandEnd;
      let record = await read();
      for (let i = 0; i < 200 && ['queued', 'sent'].includes(record.status!); i++) {
        await new Promise((r) => setTimeout(r, 25));
        record = await read();
      }
      return { ...record, http: 201 };
    },
    charger: async (identity, version, options = {}) => {
      const client = new RPCClient({
        endpoint: options.endpoint ?? ws,
        identity,
        password: options.password,
        protocols: options.protocols ?? [version],
        strictMode: true,
        reconnect: false,
        ...(options.headers && { headers: options.headers }),
        ...(options.tls && { wsOpts: options.tls }),
      } as never);
      clients.push(client);
      await client.connect();
      return client;
    },
    stop: async () => {
      await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => {})));
      await rt.stop();
    },
  };
}

export { rawCall, rawFrame } from './simulated-charger.ts';

/** Polls `check` until it is true (at most `tries` × 50 ms); returns its last result. */
export async function eventually(check: () => boolean | Promise<boolean>, tries = 100): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** Writes spooled lines into a fresh database of a real influxd as the writer does (precision ms); its name. */
export async function intoInfluxd(influx: InfluxdFixture, lines: string[]): Promise<string> {
  const db = await influx.freshDatabase();
  const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: lines.join('\n') });
  if (res.status !== 204) throw new Error(`influxd /write answered ${res.status}: ${await res.text()}`);
  return db;
}

export const boot16 = {
  chargePointVendor: 'Fleetpulse',
  chargePointModel: 'SIM-22',
  chargePointSerialNumber: 'SN-1',
  firmwareVersion: '1.2.3',
};
export const boot201 = {
  reason: 'PowerUp',
  chargingStation: { vendorName: 'Fleetpulse', model: 'SIM-22', serialNumber: 'SN-2', firmwareVersion: '2.0.0' },
};

/** The HTTP status of a charger's handshake (101 = admitted, else the refusal's code). */
export async function handshakeStatus(connect: () => Promise<RPCClient>): Promise<number> {
  try {
    const cp = await connect();
    await cp.close({ force: true });
    return 101;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

/** A strict-mode charger of the rig that records every call it gets and answers with `answer(action, params)`. */
export async function recordingCharger(
  rig: Rig,
  identity: string,
  version: 'ocpp1.6' | 'ocpp2.0.1',
  password: string,
  answer: (action: string, params: any) => unknown,
): Promise<{ cp: RPCClient; calls: Array<{ action: string; params: any }> }> {
  const cp = await rig.charger(identity, version, { password });
  const calls: Array<{ action: string; params: any }> = [];
  cp.handle((async ({ method, params }: { method: string; params: any }) => {
    calls.push({ action: method, params });
    return answer(method, params);
  }) as never);
  return { cp, calls };
}
