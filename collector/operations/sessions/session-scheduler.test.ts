import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandFailed, MemoryDirectory, Type, type Command, type Fields, type Tags } from '../../sdk/index.ts';
import { CommandBus } from '../../commands/command-bus.ts';
import { SessionError } from './session.ts';
import { SessionScheduler } from './session-scheduler.ts';

const MIN = 60_000;
const any = Type.Object({}, { additionalProperties: true });
const stationCommands = {
  warn: { description: '', params: any },
  lock: { description: '', params: any },
  log_off: { description: '', params: any },
  session_set: { description: '', params: any },
  session_clear: { description: '', params: any },
  session_status: { description: '', params: any },
};

describe('SessionScheduler', () => {
  let dir: string;
  let db: Database.Database;
  let bus: CommandBus;
  let clock: { t: number; now(): number };
  let received: Array<{ device: string; name: string; params: unknown }>;
  let points: Array<{ measurement: string; fields: Fields; tags?: Tags }>;
  let failLock: boolean;
  /** What the test station answers to session_status (its agent's own record). */
  let report: unknown;
  let maintenance: Set<string>;
  const directory = new MemoryDirectory()
    .add({ id: 'pc-7', kind: 'pc', site: 'venue-1' })
    .add({ id: 'ps5-2', kind: 'console', site: 'venue-1', labels: { plug: 'plug-2' } });

  const scheduler = () =>
    new SessionScheduler({
      db,
      dispatch: (d, r) => bus.dispatch(d, r),
      lookup: (id) => directory.lookup(id),
      clock,
      emit: (measurement, fields, tags) => void points.push({ measurement, fields, tags }),
      log: pino({ level: 'silent' }),
      onAttach: (listener) => bus.onAttach(listener),
      enforcementGraceMs: 10 * MIN,
      maintenance: { inMaintenance: (d) => maintenance.has(d.id) },
    });
  /** The session_enforcement points: [state, failed, by]. */
  const enforcement = () =>
    points
      .filter((p) => p.measurement === 'session_enforcement')
      .map((p) => [p.fields.state, (p.fields.failed as { value: number }).value, p.fields.by]);
  /** Lets the attach listener's deferred catch-up run. */
  const settled = async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  /** A station that answers commands (a test device on the real bus). */
  const attach = (device: string, commands: Record<string, { description: string; params: typeof any }>) =>
    bus.attach(device, {
      instance: 'test',
      commands,
      execute: async (id: string, c: Command) => {
        received.push({ device: id, name: c.name, params: c.params });
        if (c.name === 'lock' && failLock) throw new CommandFailed('screen locker crashed');
        if (c.name === 'session_status') return report;
        return {};
      },
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpulse-sessions-'));
    db = new Database(join(dir, 'inventory.db'));
    bus = new CommandBus();
    clock = {
      t: 1_700_000_000_000,
      now() {
        return this.t;
      },
    };
    received = [];
    points = [];
    failLock = false;
    report = { state: 'none' };
    maintenance = new Set();
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tells the station its end time, warns at 5 and 1 minutes, and locks at the end', async () => {
    attach('pc-7', stationCommands);
    const s = scheduler();
    const session = await s.begin('pc-7', 30);
    expect(received).toEqual([
      { device: 'pc-7', name: 'session_set', params: { ends_at_ms: clock.t + 30 * MIN, action: 'lock' } },
    ]);
    clock.t += 24 * MIN;
    await s.tick();
    expect(received).toHaveLength(1);
    clock.t += 1 * MIN;
    await s.tick();
    await s.tick();
    clock.t += 4 * MIN;
    await s.tick();
    expect(received.slice(1).map((r) => r.params)).toEqual([
      { message: 'Your session ends in 5 minutes' },
      { message: 'Your session ends in 1 minute' },
    ]);
    clock.t += 1 * MIN;
    await s.tick();
    expect(received.at(-1)).toEqual({ device: 'pc-7', name: 'lock', params: {} });
    expect(s.get(session.id)).toMatchObject({ state: 'ended', enforcement: 'ok', enforced_by: 'server', error: null });
    expect(enforcement()).toEqual([['enforced', 0, 'server']]);
    const events = points.filter((p) => p.measurement === 'station_session').map((p) => p.fields.event);
    expect(events).toEqual(['started', 'warned', 'warned', 'ended']);
    expect(points.find((p) => p.fields.event === 'ended')!.fields.duration_min).toBe(30);
    // Written on every change and once a minute: 1 while it ran, 0 after.
    const active = points
      .filter((p) => p.measurement === 'station_sessions_active')
      .map((p) => [p.tags?.site, (p.fields.active as { value: number }).value]);
    expect(active[0]).toEqual(['venue-1', 1]);
    expect(active.at(-1)).toEqual(['venue-1', 0]);
    expect(active.slice(0, -1).every(([, n]) => n === 1)).toBe(true);
  });

  it('keeps end times across a restart and enforces an end that passed while it was down', async () => {
    attach('pc-7', stationCommands);
    const first = scheduler();
    const session = await first.begin('pc-7', 10);
    await first.extend(session.id, 5);
    first.stop();
    // "Restart": a new scheduler on the same file, after the end time.
    clock.t += 16 * MIN;
    const second = scheduler();
    expect(second.get(session.id)).toMatchObject({
      state: 'active',
      ends_at: session.started_at + 15 * MIN,
      minutes_sold: 15,
    });
    await second.tick();
    expect(second.get(session.id)).toMatchObject({ state: 'ended', enforcement: 'ok' });
    expect(received.at(-1)!.name).toBe('lock');
    // The warnings were not sent late: the session was already over.
    expect(received.filter((r) => r.name === 'warn')).toEqual([]);
  });

  it('a station whose lock fails, here and in its own agent, is an enforcement failure (one measurement for the alert)', async () => {
    attach('pc-7', stationCommands);
    failLock = true;
    const s = scheduler();
    const session = await s.begin('pc-7', 1);
    clock.t += MIN;
    await s.tick();
    // The station holds the end and retries itself: its own record decides.
    expect(s.get(session.id)).toMatchObject({
      state: 'ended',
      enforcement: 'pending',
      enforced_by: 'station',
      error: expect.stringContaining('lock failed: screen locker crashed'),
    });
    report = { state: 'active', ends_at_ms: session.ends_at, action: 'lock', error: 'no display' };
    await s.tick();
    expect(s.get(session.id)).toMatchObject({
      enforcement: 'failed',
      enforced_by: 'station',
      error: 'the station could not end it: no display',
    });
    expect(enforcement()).toEqual([
      ['pending', 0, 'station'],
      ['failed', 1, 'station'],
    ]);
    const failure = points.filter((p) => p.measurement === 'session_enforcement').at(-1)!;
    expect(failure.tags).toEqual({ device: 'pc-7', action: 'lock' });
    expect(failure.fields).toMatchObject({ session_id: session.id, target: 'pc-7', maintenance: { value: 0 } });
  });

  it('an expiry the station enforced itself while unreachable is pending, then enforced: never a failure', async () => {
    const detach = attach('pc-7', stationCommands);
    const s = scheduler();
    s.start();
    try {
      const session = await s.begin('pc-7', 1);
      detach();
      clock.t += MIN;
      await s.tick();
      expect(s.get(session.id)).toMatchObject({
        enforcement: 'pending',
        error: expect.stringContaining('not connected'),
      });
      await s.tick(); // still away: nothing changes
      expect(enforcement()).toEqual([['pending', 0, 'station']]);
      // Back, with its record: it locked at the end.
      report = {
        state: 'enforced',
        ends_at_ms: session.ends_at,
        action: 'lock',
        enforced_at_ms: session.ends_at,
        error: null,
      };
      attach('pc-7', stationCommands);
      await settled();
      expect(s.get(session.id)).toMatchObject({ enforcement: 'ok', enforced_by: 'station', error: null });
      expect(enforcement()).toEqual([
        ['pending', 0, 'station'],
        ['enforced', 0, 'station'],
      ]);
    } finally {
      s.stop();
    }
  });

  it('a pending end fails when the station does not report within the grace, or reports another end', async () => {
    const detach = attach('pc-7', stationCommands);
    const s = scheduler();
    const a = await s.begin('pc-7', 1);
    detach();
    clock.t += MIN;
    await s.tick();
    clock.t += 10 * MIN;
    await s.tick();
    expect(s.get(a.id)).toMatchObject({
      enforcement: 'failed',
      error: expect.stringMatching(/^no report from the station within 600 s of the end/),
    });
    // Another station copy: the station says it holds nothing (e.g. its agent's data was wiped).
    const detach2 = attach('pc-7', stationCommands);
    const b = await s.begin('pc-7', 1);
    detach2();
    clock.t += MIN;
    await s.tick();
    attach('pc-7', stationCommands);
    await s.tick();
    expect(s.get(b.id)).toMatchObject({
      enforcement: 'failed',
      error: 'the station holds no record of this end (it reports none)',
    });
    expect(enforcement().map(([state, failed]) => `${state}:${failed}`)).toEqual([
      'pending:0',
      'failed:1',
      'pending:0',
      'failed:1',
    ]);
  });

  it('an unreachable station that never got the end time fails at once; power_off goes to the plug, and its failure lands in the same measurement', async () => {
    maintenance.add('ps5-2');
    const s = scheduler();
    const pc = await s.begin('pc-7', 1); // nobody attached: session_set fails, session still runs
    expect(pc.station_synced).toBe(false);
    attach('plug-2', { power_off: { description: '', params: any } });
    const ps5 = await s.begin('ps5-2', 1, { action: 'power_off' });
    expect(ps5.station_synced).toBeNull();
    clock.t += MIN;
    await s.tick();
    expect(s.get(pc.id)).toMatchObject({
      enforcement: 'failed',
      enforced_by: 'server',
      error: expect.stringContaining('not connected'),
    });
    expect(s.get(pc.id)!.error).toContain('the station did not hold this end time');
    expect(s.get(ps5.id)).toMatchObject({ enforcement: 'ok', enforced_by: 'plug', plug: 'plug-2' });
    expect(received).toEqual([{ device: 'plug-2', name: 'power_off', params: {} }]);
    // The plug away at the end: a failure of the console's session, marked as in maintenance here.
    bus = new CommandBus();
    const again = await s.begin('ps5-2', 1, { action: 'power_off' });
    clock.t += MIN;
    await s.tick();
    expect(s.get(again.id)).toMatchObject({
      enforcement: 'failed',
      enforced_by: 'plug',
      error: 'power_off failed: device plug-2 is not connected',
    });
    const last = points.filter((p) => p.measurement === 'session_enforcement').at(-1)!;
    expect(last.tags).toEqual({ device: 'ps5-2', action: 'power_off' });
    expect(last.fields).toMatchObject({
      state: 'failed',
      failed: { value: 1 },
      by: 'plug',
      target: 'plug-2',
      maintenance: { value: 1 },
    });
  });

  it('an extension or a stop made while the station is away reaches it when it is back; only the latest state is sent', async () => {
    const detach = attach('pc-7', stationCommands);
    const s = scheduler();
    s.start();
    try {
      const session = await s.begin('pc-7', 10);
      detach();
      const extended = await s.extend(session.id, 5);
      expect(extended.station_synced).toBe(false);
      const reattach = attach('pc-7', stationCommands);
      await settled();
      expect(received.at(-1)).toEqual({
        device: 'pc-7',
        name: 'session_set',
        params: { ends_at_ms: session.ends_at + 5 * MIN, action: 'lock' },
      });
      expect(s.get(session.id)!.station_synced).toBe(true);

      reattach();
      const stopped = await s.end(session.id);
      expect(stopped.station_synced).toBe(false);
      // Back without session commands yet (an agent attaches before it announces them): tried again later.
      const bare = bus.attach('pc-7', { instance: 'test', commands: {}, execute: async () => ({}) });
      await settled();
      expect(s.get(session.id)!.station_synced).toBe(false);
      bare();
      attach('pc-7', stationCommands);
      await settled();
      expect(received.at(-1)).toMatchObject({ name: 'session_clear' });
      expect(s.get(session.id)!.station_synced).toBe(true);

      // Away again: stopped, and a new session begun; back: the new end only, no stale clear after it.
      bus = new CommandBus();
      const sent = received.length;
      const next = await s.begin('pc-7', 20);
      await s.end(next.id);
      const third = await s.begin('pc-7', 30);
      attach('pc-7', stationCommands);
      await s.tick();
      expect(received.slice(sent)).toEqual([
        { device: 'pc-7', name: 'session_set', params: { ends_at_ms: third.ends_at, action: 'lock' } },
      ]);
      await s.tick();
      expect(received).toHaveLength(sent + 1);
    } finally {
      s.stop();
    }
  });

  it('refuses a second session on a station, unknown ids, and power_off without a plug', async () => {
    attach('pc-7', stationCommands);
    const s = scheduler();
    const session = await s.begin('pc-7', 10);
    await expect(s.begin('pc-7', 10)).rejects.toMatchObject({ reason: 'conflict', code: 'conflict' });
    expect(s.list({ state: 'active' })).toHaveLength(1);
    await expect(s.extend('nope', 5)).rejects.toBeInstanceOf(SessionError);
    await expect(s.begin('pc-9', 10)).rejects.toMatchObject({ reason: 'not_found', code: 'not_found' });
    await expect(s.begin('pc-7', 10, { action: 'power_off' })).rejects.toMatchObject({
      reason: 'no_plug',
      code: 'invalid',
      field: 'plug',
    });
    const stopped = await s.end(session.id);
    expect(stopped).toMatchObject({ state: 'stopped', enforcement: null });
    expect(received.at(-1)!.name).toBe('session_clear');
    await expect(s.end(session.id)).rejects.toMatchObject({ reason: 'not_active', code: 'conflict' });
    expect(s.list({ station: 'pc-7' })).toHaveLength(1);
    expect(s.list({ state: 'active' })).toEqual([]);
  });
});
