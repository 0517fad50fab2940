import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandBus } from '../../../collector/commands/command-bus.ts';
import { SessionScheduler } from '../../../collector/operations/sessions/session-scheduler.ts';
import { ROLES, type Inventory, type Role } from '../../../collector/inventory/index.ts';
import { seedOwners, tempInventory } from '../../../collector/inventory/testing.ts';
import { Type, type Command } from '../../../collector/sdk/index.ts';
import { apiPlugin } from '../../plugin.ts';
import sessionRoutes from './index.ts';

/**
 * The routes mounted the way `serve` must mount them: inside the API plugin, so that its key
 * check, roles and audit apply. A real inventory, a real scheduler and a real bus with a station.
 */
describe('/api/v1/sessions', () => {
  let app: FastifyInstance;
  let inventory: Inventory;
  let cleanup: () => void;
  const keys = {} as Record<Role, string>;
  const received: string[] = [];

  beforeAll(async () => {
    const fixture = tempInventory();
    inventory = fixture.inventory;
    cleanup = fixture.cleanup;
    seedOwners(inventory);
    inventory.devices.create({ id: 'pc-7', kind: 'pc', site: 'acme-berlin' });
    for (const role of ROLES) keys[role] = inventory.apiKeys.create({ name: role, role }).key;
    const bus = new CommandBus();
    const any = Type.Object({}, { additionalProperties: true });
    bus.attach('pc-7', {
      instance: 'test',
      commands: {
        session_set: { description: '', params: any },
        session_clear: { description: '', params: any },
        lock: { description: '', params: any },
      },
      execute: async (_d: string, c: Command) => void received.push(c.name),
    });
    const scheduler = new SessionScheduler({
      db: inventory.db,
      dispatch: (d, r) => bus.dispatch(d, r),
      emit: () => {},
      lookup: (id) => inventory.directory.lookup(id),
      log: pino({ level: 'silent' }),
    });
    app = Fastify({ logger: false });
    await app.register(
      async (scope, opts) => {
        await apiPlugin(scope, opts);
        await scope.register(sessionRoutes, { scheduler });
      },
      { prefix: '/api/v1', inventory, kinds: ['pc'] },
    );
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    cleanup?.();
  });

  const call = (role: Role | 'none', method: 'GET' | 'POST', url: string, payload?: unknown) =>
    app.inject({
      method,
      url: `/api/v1${url}`,
      payload: payload as object,
      headers: role === 'none' ? {} : { authorization: `Bearer ${keys[role]}` },
    });

  it('starts, extends, lists and stops a session; every change is audited', async () => {
    const started = await call('operator', 'POST', '/sessions', { station: 'pc-7', minutes: 30 });
    expect(started.statusCode, started.body).toBe(201);
    const s = started.json();
    expect(s).toMatchObject({
      station: 'pc-7',
      site: 'acme-berlin',
      action: 'lock',
      state: 'active',
      minutes_sold: 30,
      enforcement: null,
      enforced_by: null,
      station_synced: true,
    });
    expect(s.remaining_s).toBeGreaterThan(29 * 60);
    expect(received).toEqual(['session_set']);

    const extended = await call('operator', 'POST', `/sessions/${s.id}/extend`, { minutes: 15 });
    expect(extended.json()).toMatchObject({
      minutes_sold: 45,
      ends_at: new Date(Date.parse(s.ends_at) + 15 * 60_000).toISOString(),
    });

    const list = await call('viewer', 'GET', '/sessions?state=active');
    expect(list.json().items.map((i: { id: string }) => i.id)).toEqual([s.id]);
    expect((await call('viewer', 'GET', `/sessions/${s.id}`)).json().id).toBe(s.id);

    const stopped = await call('operator', 'POST', `/sessions/${s.id}/stop`);
    // The station acknowledged the clear: it will not lock later.
    expect(stopped.json()).toMatchObject({ state: 'stopped', remaining_s: 0, station_synced: true });
    expect(received.at(-1)).toBe('session_clear');
    const audit = inventory.db
      .prepare(`SELECT action FROM audit WHERE action LIKE 'sessions.%' AND result = 'ok' ORDER BY id`)
      .pluck()
      .all();
    expect(audit).toEqual(['sessions.start', 'sessions.extend', 'sessions.stop']);
  });

  it('answers bad requests with catalogue errors', async () => {
    const bad = await call('operator', 'POST', '/sessions', { station: 'pc-7', minutes: 0 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'FP_VALIDATION', field: 'minutes' });
    expect(
      (await call('operator', 'POST', '/sessions', { station: 'pc-7', minutes: 5, colour: 'red' })).statusCode,
    ).toBe(400);
    const unknown = await call('operator', 'POST', '/sessions', { station: 'nope', minutes: 5 });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'FP_NOT_FOUND']);
    const noPlug = await call('operator', 'POST', '/sessions', { station: 'pc-7', minutes: 5, action: 'power_off' });
    expect(noPlug.json().error).toMatchObject({ code: 'FP_VALIDATION', field: 'plug' });
    const first = (await call('operator', 'POST', '/sessions', { station: 'pc-7', minutes: 5 })).json();
    const twice = await call('operator', 'POST', '/sessions', { station: 'pc-7', minutes: 5 });
    expect([twice.statusCode, twice.json().error.code]).toEqual([409, 'FP_CONFLICT']);
    await call('operator', 'POST', `/sessions/${first.id}/stop`);
    expect((await call('operator', 'POST', `/sessions/${first.id}/extend`, { minutes: 5 })).statusCode).toBe(409);
    expect((await call('viewer', 'GET', '/sessions/missing')).statusCode).toBe(404);
  });

  it('lets operators and admins change sessions, others only read', async () => {
    for (const role of ['none', ...ROLES] as const) {
      const write = await call(role, 'POST', '/sessions', { station: 'pc-7', minutes: 5 });
      const expected = role === 'none' ? 401 : role === 'admin' || role === 'operator' ? 201 : 403;
      expect(write.statusCode, `${role} POST`).toBe(expected);
      if (write.statusCode === 201) await call(role, 'POST', `/sessions/${write.json().id}/stop`);
      expect((await call(role, 'GET', '/sessions')).statusCode, `${role} GET`).toBe(role === 'none' ? 401 : 200);
    }
  });
});
