/**
 * Timed sessions end to end: the session scheduler, the sessions API and the agent uplink of a
 * serve-like server in this process (Collector + SharedServer + real inventory + Spool + Drain
 * into a real influxd), wired as `serve` wires them, and the REAL agent process
 * (`fleetpulse agent`) whose host plugin locks by running a program. The uplink runs through a
 * TCP relay that the test cuts and restores: the network goes, the server stays up.
 *
 * The server's clock can be moved forward (warnings at 5 and 1 minutes without waiting minutes);
 * the agent keeps real time, so sessions it must end itself are a few seconds long.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { load } from 'js-yaml';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiPlugin } from '../api/index.ts';
import sessionRoutes from '../api/routes/sessions/index.ts';
import { evaluateRule, type ProvisionedRule } from '../alerting/evaluate.ts';
import { SessionScheduler } from '../collector/operations/sessions/session-scheduler.ts';
import { openInventory, type Inventory } from '../collector/inventory/index.ts';
import { Drain } from '../collector/pipeline/drain.ts';
import { InfluxV1Writer } from '../collector/pipeline/influx-writer.ts';
import { Spool } from '../collector/pipeline/spool.ts';
import { openStateDb } from '../collector/pipeline/state-db.ts';
import { Collector } from '../collector/runtime/collector.ts';
import { SelfMetrics } from '../collector/runtime/self-metrics.ts';
import { SharedServer } from '../collector/runtime/shared-server.ts';
import { REPO_ROOT } from '../dashboards/build.ts';
import { PROVISIONING_DIR } from '../dashboards/provisioning.ts';
import agentPlugin from '../plugins/agent/index.ts';
import { AgentProcess, edgePlugins, NetLink, until } from './helpers/agent-rig.ts';
import { useInfluxd } from './helpers/influxd.ts';

const influx = useInfluxd();
const STATION = 'venue-1-pc-07';
const MIN = 60_000;
const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

describe('timed sessions with a real agent', () => {
  let dir: string;
  let database: string;
  let inventory: Inventory;
  let spool: Spool;
  let stateDb: ReturnType<typeof openStateDb>;
  let drain: Drain;
  let app: FastifyInstance;
  let collector: Collector;
  let scheduler: SessionScheduler;
  /** The uplink's TCP relay: `cut()` drops the link and refuses new ones until `restore()`. */
  let relay: NetLink;
  let agent: AgentProcess;
  let apiKey: string;
  let rule: ProvisionedRule;
  /** The server's clock runs this far ahead of real time. */
  let skewMs = 0;
  const lockFile = () => join(dir, 'locks');
  const warnFile = () => join(dir, 'warnings');
  /** When the station ran its lock program (ms), one line per lock. */
  const locks = () => (existsSync(lockFile()) ? readFileSync(lockFile(), 'utf8').trim().split('\n').map(Number) : []);
  const warnings = () => (existsSync(warnFile()) ? readFileSync(warnFile(), 'utf8').trim().split('\n') : []);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpulse-sessions-e2e-'));
    database = await influx.freshDatabase({ prefix: 'sessions' });
    inventory = openInventory({ path: join(dir, 'inventory.db'), secretKey: Buffer.alloc(32, 7) });
    inventory.customers.create({ id: 'playhouse', company: 'Playhouse Gaming' });
    inventory.sites.create({ id: 'playhouse-lyon', customer: 'playhouse', name: 'Lyon', timezone: 'Europe/Paris' });
    inventory.devices.create({ id: STATION, kind: 'pc', model: 'GAMER-X', site: 'playhouse-lyon' });
    const token = inventory.credentials.issue(STATION, 'agent_token').secret;
    apiKey = inventory.apiKeys.create({ name: 'venue desk', role: 'operator' }).key;

    stateDb = openStateDb(join(dir, 'state.db'));
    spool = new Spool({ db: stateDb, commitIntervalMs: 10 });
    const metrics = new SelfMetrics('test');
    drain = new Drain({
      spool,
      writer: new InfluxV1Writer({ url: influx.url, database }),
      log,
      flushIntervalMs: 100,
      metrics: metrics.drainMetrics(),
    });
    drain.start();
    const loggerInstance: FastifyBaseLogger = log;
    app = Fastify({ loggerInstance });
    const server = new SharedServer(app);
    collector = new Collector({
      place: 'serve',
      plugins: [agentPlugin, ...edgePlugins],
      pluginConfig: { agent: { ping_interval_s: 1 } },
      sink: spool,
      db: stateDb,
      pluginDb: inventory.db,
      directory: inventory.directory,
      metrics,
      log,
      server,
    });
    // As Operations wires it (collector/operations/operations.ts), with a movable clock and a fast tick.
    const emit = collector.emitter.system.bind(collector.emitter);
    scheduler = new SessionScheduler({
      db: inventory.db,
      dispatch: (device, request) => collector.bus.dispatch(device, request),
      emit: (measurement, fields, tags = {}, time) => emit({ measurement, fields, tags, time }),
      lookup: (id) => inventory.directory.lookup(id),
      log,
      clock: { now: () => Date.now() + skewMs },
      tickMs: 100,
      onAttach: (listener) => collector.bus.onAttach(listener),
      enforcementGraceMs: 60_000,
    });
    void app.register(apiPlugin, {
      prefix: '/api/v1',
      inventory,
      kinds: ['pc'],
      extend: async (api) => {
        await api.register(sessionRoutes, { scheduler });
        server.mountApiRoutes(api);
      },
    });
    await collector.start();
    await app.listen({ host: '127.0.0.1', port: 0 });
    scheduler.start();
    relay = await new NetLink(() => (app.server.address() as net.AddressInfo).port).start();

    const config = {
      agent: { id: STATION, server: `ws://127.0.0.1:${relay.port}/agent/`, token },
      data_dir: join(dir, 'agent'),
      log: { level: 'info' },
      outbox: { flush_interval_ms: 100 },
      uplink: {
        reconnect_initial_ms: 100,
        reconnect_max_ms: 300,
        announce_interval_s: 1,
        ack_timeout_s: 5,
        connect_wait_s: 1,
      },
      plugins: {
        host: {
          interval_s: 5,
          cpu_interval_s: 5,
          lock_command: ['sh', '-c', `date +%s%3N >> ${lockFile()}`],
          warn_command: ['sh', '-c', `printf '%s\\n' "$0" >> ${warnFile()}`],
        },
      },
    };
    agent = new AgentProcess(dir, config);
    const doc = load(readFileSync(join(REPO_ROOT, PROVISIONING_DIR, 'alerting/rules.yaml'), 'utf8')) as {
      groups: { rules: ProvisionedRule[] }[];
    };
    rule = doc.groups.flatMap((g) => g.rules).find((r) => r.uid === 'fp-session-enforcement-failed')!;
    await until(
      'the agent announced its session commands',
      () => collector.bus.commandsFor(STATION)?.session_status,
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent.output}`);
    });
  }, 60_000);

  afterAll(async () => {
    scheduler?.stop();
    await agent?.kill();
    await relay?.stop();
    await collector?.stop(2000);
    await app?.close();
    await drain?.stop(5000);
    spool?.close();
    stateDb?.close();
    inventory?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const session = (id: string) => api('GET', `/sessions/${id}`);
  // The tests share one station: each starts once the previous test's session has ended on the
  // server too (on a loaded machine it may still be expiring when the next test begins).
  const start = async (minutes: number) => {
    await until(
      'no active session on the station',
      async () => ((await api('GET', `/sessions?station=${STATION}&state=active`)).items as unknown[]).length === 0,
    );
    return api('POST', '/sessions', { station: STATION, minutes });
  };
  const synced = (id: string) =>
    until(`the station holds session ${id}'s state`, async () => (await session(id)).station_synced === true);
  const stationStatus = async () =>
    (await collector.bus.dispatch(STATION, { name: 'session_status' })).result as Record<string, unknown>;
  const cut = async () => {
    relay.mode = 'down';
    relay.cut();
    await until('the server saw the uplink go', () => !collector.bus.isAttached(STATION));
  };
  const enforcementPoints = (id: string) =>
    until(`session_enforcement of ${id} in InfluxDB`, async () => {
      const s = await influx.query(
        `SELECT "state", "failed", "by" FROM "session_enforcement" WHERE "session_id" = '${id}'`,
        { db: database },
      );
      return s[0]?.values.some((v) => v[1] !== 'pending') && s[0].values.map((v) => v.slice(1));
    });

  it('warns the station at 5 and 1 minutes and locks it at the end (server clock moved forward)', async () => {
    const s = await start(10);
    await synced(s.id as string);
    const endsAt = Date.parse(s.ends_at as string);
    skewMs = endsAt - 4.5 * MIN - Date.now();
    await until('the 5-minute warning on the station', () => warnings().includes('Your session ends in 5 minutes'));
    skewMs = endsAt - 0.5 * MIN - Date.now();
    await until('the 1-minute warning on the station', () => warnings().includes('Your session ends in 1 minute'));
    const before = locks().length;
    skewMs = endsAt + 1000 - Date.now();
    await until('the lock on the station', () => locks().length > before);
    expect(
      await until(
        'the end recorded',
        async () => (await session(s.id as string)).enforcement && session(s.id as string),
      ),
    ).toMatchObject({ state: 'ended', enforcement: 'ok', enforced_by: 'server' });
    expect(warnings()).toEqual(['Your session ends in 5 minutes', 'Your session ends in 1 minute']);
    skewMs = 0;
    expect(await enforcementPoints(s.id as string)).toEqual([['enforced', 0, 'server']]);
  });

  it('an extension made while the uplink is down reaches the station when it is back: it locks at the new end, not the old one', async () => {
    const s = await start(0.12);
    await synced(s.id as string);
    const oldEnd = Date.parse(s.ends_at as string);
    await cut();
    const extended = await api('POST', `/sessions/${s.id}/extend`, { minutes: 0.04 });
    const newEnd = Date.parse(extended.ends_at as string);
    expect(extended.station_synced).toBe(false);
    relay.mode = 'up';
    await synced(s.id as string);
    expect(await stationStatus()).toMatchObject({ state: 'active', ends_at_ms: newEnd });
    const before = locks().length;
    await until('the lock at the new end', () => locks().length > before);
    // Every lock came at or after the new end (the agent's own and the server's command); none at the old one.
    expect(
      locks()
        .slice(before)
        .every((t) => t >= newEnd),
      `old end ${oldEnd}, new end ${newEnd}, locks ${locks().slice(before)}`,
    ).toBe(true);
  });

  it('a session stopped while the uplink is down does not lock the station later', async () => {
    const s = await start(0.05);
    await synced(s.id as string);
    const endsAt = Date.parse(s.ends_at as string);
    const before = locks().length;
    await cut();
    expect(await api('POST', `/sessions/${s.id}/stop`)).toMatchObject({ state: 'stopped', station_synced: false });
    relay.mode = 'up';
    await synced(s.id as string);
    expect(await stationStatus()).toEqual({ state: 'none' });
    // Past the old end and the agent's next check (1 s): no lock.
    await until('the old end has passed', () => Date.now() > endsAt + 2000, 10_000);
    expect(locks().length).toBe(before);
  });

  it('a session that expires while the uplink is down is enforced by the station, reported when back, and is no enforcement failure', async () => {
    const s = await start(0.05);
    await synced(s.id as string);
    const endsAt = Date.parse(s.ends_at as string);
    const before = locks().length;
    await cut();
    await until('the local lock', () => locks().length > before);
    expect(locks()[before]).toBeGreaterThanOrEqual(endsAt);
    await until(
      'the server at the end: pending',
      async () => (await session(s.id as string)).enforcement === 'pending',
    );
    relay.mode = 'up';
    await until('the station reported', async () => (await session(s.id as string)).enforcement === 'ok');
    expect(await session(s.id as string)).toMatchObject({
      state: 'ended',
      enforcement: 'ok',
      enforced_by: 'station',
      error: null,
    });
    expect(await enforcementPoints(s.id as string)).toEqual([
      ['pending', 0, 'station'],
      ['enforced', 0, 'station'],
    ]);
    // The alert rule, read from the provisioning file, sees the station and does not fire.
    const result = await evaluateRule(rule, influx.client(database), Date.now());
    expect(result).toMatchObject({ firing: [], instances: 1 });
  });

  it('an end the station never got while the uplink was down is a failure that alerts; the station locks once back', async () => {
    await cut();
    const s = await start(0.02);
    expect(s.station_synced).toBe(false);
    await until('the end failed', async () => (await session(s.id as string)).enforcement === 'failed');
    expect((await session(s.id as string)).error).toContain('the station did not hold this end time');
    expect(await enforcementPoints(s.id as string)).toEqual([['failed', 1, 'server']]);
    const result = await evaluateRule(rule, influx.client(database), Date.now());
    expect(result.firing).toEqual([
      {
        device: STATION,
        kind: 'pc',
        model: 'GAMER-X',
        customer: 'playhouse',
        site: 'playhouse-lyon',
        contract: 'standard',
      },
    ]);
    const before = locks().length;
    relay.mode = 'up';
    await until('the late lock once back', () => locks().length > before);
    expect(await stationStatus()).toMatchObject({ state: 'enforced', ends_at_ms: Date.parse(s.ends_at as string) });
  });
});
