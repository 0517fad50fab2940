import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionScheduler } from '../../collector/operations/sessions/session-scheduler.ts';
import { MemoryDirectory } from '../../collector/sdk/index.ts';
import { startPluginRuntime, type PluginRuntime } from '../../test/helpers/plugin-runtime.ts';
import plugPlugin from './index.ts';
import { ConsolePlug, runTasmota, shellyServer } from './simulated-plug.ts';
import { TestBroker } from './testing.ts';

// A gaming session on a console ends by cutting its plug's power. Everything here is real: the
// session scheduler wired as serve wires it (the runtime's command bus and emitter), the plug
// plugin in the runtime, Mosquitto, the simulator's Tasmota plug and a simulated Shelly on
// loopback. Only the scheduler's clock is moved, so that a 30-minute session ends now.
const MIN = 60_000;
let broker: TestBroker;
let rt: PluginRuntime;
let dir: string;
let db: Database.Database;
let sessions: SessionScheduler;
const clock = {
  t: 0,
  now() {
    return this.t;
  },
};
const simStop = new AbortController();
const goneStop = new AbortController();
const sims: Promise<void>[] = [];
const tasmotaPlug = new ConsolePlug(180);
const gonePlug = new ConsolePlug(180);
const shellyPlug = new ConsolePlug(120);
const shelly = shellyServer(shellyPlug);

const directory = new MemoryDirectory(new Set(['plug']))
  .add({ id: 'ps5-3', kind: 'console', site: 'arena-1', labels: { plug: 'tasmota_D1' } })
  .add({ id: 'xbox-4', kind: 'console', site: 'arena-1', labels: { plug: 'tasmota_E1' } })
  .add({ id: 'switch-5', kind: 'console', site: 'arena-1', labels: { plug: 'shelly-5' } });

beforeAll(async () => {
  broker = await TestBroker.start();
  await new Promise<void>((resolve) => shelly.listen(0, '127.0.0.1', resolve));
  rt = await startPluginRuntime({
    plugins: [plugPlugin],
    pluginConfig: {
      plug: {
        allowed_networks: ['127.0.0.0/8'], // the simulated plug listens on loopback
        shelly: {
          poll_interval_s: 3600,
          devices: [{ id: 'shelly-5', address: `127.0.0.1:${(shelly.address() as AddressInfo).port}` }],
        },
        tasmota: { broker_url: broker.url, tele_period_s: 10 },
      },
    },
    directory,
  });
  dir = mkdtempSync(join(tmpdir(), 'fleetpulse-sessions-'));
  db = new Database(join(dir, 'inventory.db'));
  const emit = rt.collector.emitter.system.bind(rt.collector.emitter);
  sessions = new SessionScheduler({
    db,
    dispatch: (device, request) => rt.collector.bus.dispatch(device, request),
    emit: (measurement, fields, tags = {}, time) => emit({ measurement, fields, tags, time }),
    lookup: (id) => directory.lookup(id),
    log: pino({ level: 'silent' }),
    onAttach: (listener) => rt.collector.bus.onAttach(listener),
    clock,
  });
  sims.push(runTasmota(tasmotaPlug, 'tasmota_D1', broker.url, 1, simStop.signal, { count: () => {} }));
  sims.push(runTasmota(gonePlug, 'tasmota_E1', broker.url, 1, goneStop.signal, { count: () => {} }));
});

afterAll(async () => {
  simStop.abort();
  goneStop.abort();
  await Promise.all(sims);
  await rt?.stop();
  if (shelly.listening) await new Promise((resolve) => shelly.close(resolve));
  await broker?.stop();
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts a 30-minute power_off session that began 31 minutes ago, then lets the scheduler look. */
async function sessionThatRanOut(station: string) {
  clock.t = Date.now() - 31 * MIN;
  const s = await sessions.begin(station, 30, { action: 'power_off' });
  clock.t = Date.now();
  await sessions.tick();
  return sessions.get(s.id)!;
}
const attached = (plug: string) => expect.poll(() => rt.collector.bus.isAttached(plug), { timeout: 10_000 }).toBe(true);
/** The scheduler's `session_enforcement` points of one session. */
const enforcementLines = (sessionId: string) =>
  rt.lines('session_enforcement').filter((l) => l.includes(`session_id="${sessionId}"`));
const linesOf = (measurement: string, device: string) =>
  rt.lines(measurement).filter((l) => l.includes(`device=${device},`));

describe('gaming session power_off through the plug plugin', () => {
  it("switches off the console's Tasmota plug when the session runs out, and records it enforced", async () => {
    await attached('tasmota_D1');
    expect(tasmotaPlug.on).toBe(true);
    const s = await sessionThatRanOut('ps5-3');
    expect(s).toMatchObject({
      state: 'ended',
      action: 'power_off',
      plug: 'tasmota_D1',
      enforcement: 'ok',
      enforced_by: 'plug',
      error: null,
    });
    expect(tasmotaPlug.on).toBe(false);
    // The plug reported the open relay (stat/…/RESULT) and the plugin wrote it.
    expect(linesOf('plug_state', 'tasmota_D1').some((l) => / on=0i /.test(l))).toBe(true);
    expect(
      linesOf('station_session', 'ps5-3').some(
        (l) => l.includes(`event="ended"`) && l.includes(`session_id="${s.id}"`),
      ),
    ).toBe(true);
    const enforced = enforcementLines(s.id);
    expect(enforced).toHaveLength(1);
    expect(enforced[0]).toMatch(
      /^session_enforcement,action=power_off,device=ps5-3,.* state="enforced",failed=0i,by="plug",/,
    );
    expect(enforced[0]).toContain('target="tasmota_D1"');
  });

  it('a plug that has gone offline: the end is recorded as not enforced, with the reason', async () => {
    await attached('tasmota_E1');
    goneStop.abort(); // switched off at the wall: its Offline LWT detaches it
    await sims[1];
    await expect.poll(() => rt.collector.bus.isAttached('tasmota_E1')).toBe(false);
    const s = await sessionThatRanOut('xbox-4');
    expect(s).toMatchObject({ state: 'ended', enforcement: 'failed', enforced_by: 'plug', plug: 'tasmota_E1' });
    expect(s.error).toMatch(/^power_off failed: .*tasmota_E1/);
    const failure = enforcementLines(s.id);
    expect(failure).toHaveLength(1);
    expect(failure[0]).toMatch(
      /^session_enforcement,action=power_off,device=xbox-4,.* state="failed",failed=1i,by="plug",/,
    );
    expect(failure[0]).toContain('target="tasmota_E1"');
  });

  it('a Shelly plug that stops answering: the command fails and the end is recorded as not enforced', async () => {
    await attached('shelly-5');
    shelly.closeAllConnections();
    await new Promise((resolve) => shelly.close(resolve)); // the plug's last good poll keeps it attached
    expect(rt.collector.bus.isAttached('shelly-5')).toBe(true);
    const s = await sessionThatRanOut('switch-5');
    expect(s).toMatchObject({ state: 'ended', enforcement: 'failed', enforced_by: 'plug', plug: 'shelly-5' });
    expect(s.error).toMatch(/^power_off failed: Shelly 127\.0\.0\.1:\d+ did not answer/);
    expect(shellyPlug.on).toBe(true);
    const failure = enforcementLines(s.id);
    expect(failure).toHaveLength(1);
    expect(failure[0]).toMatch(/ state="failed",failed=1i,by="plug",.*target="shelly-5"/);
    // The other sessions' outcomes stand.
    expect(
      sessions
        .list({ state: 'ended' })
        .map((x) => [x.station, x.enforcement])
        .sort(),
    ).toEqual([
      ['ps5-3', 'ok'],
      ['switch-5', 'failed'],
      ['xbox-4', 'failed'],
    ]);
  });
});
