import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandFailed, MemoryDirectory, Type, type Command, type Fields, type Tags } from '../sdk/index.ts';
import { CommandBus } from './command-bus.ts';
import { SessionError, SessionScheduler } from './session-scheduler.ts';

const MIN = 60_000;
const any = Type.Object({}, { additionalProperties: true });
const stationCommands = { warn: { description: '', params: any }, lock: { description: '', params: any }, log_off: { description: '', params: any }, session_set: { description: '', params: any }, session_clear: { description: '', params: any } };

describe('SessionScheduler', () => {
  let dir: string;
  let db: Database.Database;
  let bus: CommandBus;
  let clock: { t: number; now(): number };
  let received: Array<{ device: string; name: string; params: unknown }>;
  let points: Array<{ measurement: string; fields: Fields; tags?: Tags }>;
  let failLock: boolean;
  const directory = new MemoryDirectory()
    .add({ id: 'pc-7', kind: 'pc', site: 'venue-1' })
    .add({ id: 'ps5-2', kind: 'console', site: 'venue-1', labels: { plug: 'plug-2' } });

  const scheduler = () =>
    new SessionScheduler({
      db, dispatch: (d, r) => bus.dispatch(d, r), lookup: (id) => directory.lookup(id), clock,
      emit: (measurement, fields, tags) => void points.push({ measurement, fields, tags }),
      log: pino({ level: 'silent' }),
    });
  /** A station that answers commands (a test device on the real bus). */
  const attach = (device: string, commands: Record<string, { description: string; params: typeof any }>) =>
    bus.attach(device, {
      instance: 'test', commands,
      execute: async (id: string, c: Command) => {
        received.push({ device: id, name: c.name, params: c.params });
        if (c.name === 'lock' && failLock) throw new CommandFailed('screen locker crashed');
        return {};
      },
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpulse-sessions-'));
    db = new Database(join(dir, 'inventory.db'));
    bus = new CommandBus();
    clock = { t: 1_700_000_000_000, now() { return this.t; } };
    received = [];
    points = [];
    failLock = false;
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tells the station its end time, warns at 5 and 1 minutes, and locks at the end', async () => {
    attach('pc-7', stationCommands);
    const s = scheduler();
    const session = await s.begin('pc-7', 30);
    expect(received).toEqual([{ device: 'pc-7', name: 'session_set', params: { ends_at_ms: clock.t + 30 * MIN, action: 'lock' } }]);
    clock.t += 24 * MIN;
    await s.tick();
    expect(received).toHaveLength(1);
    clock.t += 1 * MIN;
    await s.tick();
    await s.tick();
    clock.t += 4 * MIN;
    await s.tick();
    expect(received.slice(1).map((r) => r.params)).toEqual([{ message: 'Your session ends in 5 minutes' }, { message: 'Your session ends in 1 minute' }]);
    clock.t += 1 * MIN;
    await s.tick();
    expect(received.at(-1)).toEqual({ device: 'pc-7', name: 'lock', params: {} });
    expect(s.get(session.id)).toMatchObject({ state: 'ended', enforcement: 'ok', error: null });
    const events = points.filter((p) => p.measurement === 'station_session').map((p) => p.fields.event);
    expect(events).toEqual(['started', 'warned', 'warned', 'ended']);
    expect(points.find((p) => p.fields.event === 'ended')!.fields.duration_min).toBe(30);
    // Written on every change and once a minute: 1 while it ran, 0 after.
    const active = points.filter((p) => p.measurement === 'station_sessions_active').map((p) => [p.tags?.site, (p.fields.active as { value: number }).value]);
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
    expect(second.get(session.id)).toMatchObject({ state: 'active', ends_at: session.started_at + 15 * MIN, minutes_sold: 15 });
    await second.tick();
    expect(second.get(session.id)).toMatchObject({ state: 'ended', enforcement: 'ok' });
    expect(received.at(-1)!.name).toBe('lock');
    // The warnings were not sent late: the session was already over.
    expect(received.filter((r) => r.name === 'warn')).toEqual([]);
  });

  it('records an end that could not be enforced, and writes it for the alert rule', async () => {
    attach('pc-7', stationCommands);
    failLock = true;
    const s = scheduler();
    const session = await s.begin('pc-7', 1);
    clock.t += MIN;
    await s.tick();
    expect(s.get(session.id)).toMatchObject({ state: 'ended', enforcement: 'failed', error: 'failed: screen locker crashed' });
    const failure = points.find((p) => p.measurement === 'session_enforcement_failure')!;
    expect(failure.tags).toEqual({ device: 'pc-7', action: 'lock' });
    expect(failure.fields).toMatchObject({ session_id: session.id, target: 'pc-7', error: 'failed: screen locker crashed' });
  });

  it('an unreachable station is an enforcement failure too; power_off goes to the plug', async () => {
    const s = scheduler();
    const pc = await s.begin('pc-7', 1); // nobody attached: session_set fails, session still runs
    attach('plug-2', { power_off: { description: '', params: any } });
    const ps5 = await s.begin('ps5-2', 1, { action: 'power_off' });
    clock.t += MIN;
    await s.tick();
    expect(s.get(pc.id)).toMatchObject({ enforcement: 'failed', error: expect.stringContaining('not connected') });
    expect(s.get(ps5.id)).toMatchObject({ enforcement: 'ok', plug: 'plug-2' });
    expect(received).toEqual([{ device: 'plug-2', name: 'power_off', params: {} }]);
  });

  it('refuses a second session on a station, unknown ids, and power_off without a plug', async () => {
    attach('pc-7', stationCommands);
    const s = scheduler();
    const session = await s.begin('pc-7', 10);
    await expect(s.begin('pc-7', 10)).rejects.toMatchObject({ code: 'conflict' });
    expect(s.list({ state: 'active' })).toHaveLength(1);
    await expect(s.extend('nope', 5)).rejects.toBeInstanceOf(SessionError);
    await expect(s.begin('pc-9', 10)).rejects.toMatchObject({ code: 'not_found' });
    await expect(s.begin('pc-7', 10, { action: 'power_off' })).rejects.toMatchObject({ code: 'no_plug' });
    const stopped = await s.end(session.id);
    expect(stopped).toMatchObject({ state: 'stopped', enforcement: null });
    expect(received.at(-1)!.name).toBe('session_clear');
    await expect(s.end(session.id)).rejects.toMatchObject({ code: 'not_active' });
    expect(s.list({ station: 'pc-7' })).toHaveLength(1);
    expect(s.list({ state: 'active' })).toEqual([]);
  });
});
