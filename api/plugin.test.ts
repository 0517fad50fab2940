import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { apiPlugin, bootstrapAdminKey } from './index.ts';

let fixture: ReturnType<typeof tempInventory>;
afterEach(() => fixture.cleanup());

describe('apiPlugin on a shared server', () => {
  it('keeps its own strictness, errors and limits, and leaves the host routes alone', async () => {
    fixture = tempInventory();
    seedOwners(fixture.inventory);
    const { key } = fixture.inventory.apiKeys.create({ name: 'ops', role: 'admin' });
    // A host server with Fastify's defaults: coercing, stripping AJV, 2 MiB bodies.
    const server = Fastify({ bodyLimit: 2 * 1024 * 1024 });
    server.post(
      '/ingest',
      { schema: { body: { type: 'object', properties: { n: { type: 'integer' } } } } },
      async (request) => request.body,
    );
    server.get('/healthz', async () => ({ status: 'ok' }));
    await server.register(apiPlugin, { prefix: '/api/v1', inventory: fixture.inventory, kinds: ['charger'] });
    await server.ready();
    const auth = { authorization: `Bearer ${key}` };

    expect((await server.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await server.inject({ method: 'POST', url: '/ingest', payload: { n: '5', extra: 1 } })).json()).toEqual({
      n: 5,
      extra: 1,
    });
    expect((await server.inject({ url: '/nothing' })).json().error).not.toHaveProperty('code', 'FP_NOT_FOUND');

    const strict = await server.inject({
      method: 'POST',
      url: '/api/v1/sites',
      headers: auth,
      payload: { customer: 'acme', name: 'S', latitude: '1' },
    });
    expect(strict.json().error).toMatchObject({ code: 'FP_VALIDATION', field: 'latitude' });
    const big = await server.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: auth,
      payload: { company: 'x'.repeat(1_100_000) },
    });
    expect(big.statusCode).toBe(413);
    expect((await server.inject({ url: '/api/v1/nope' })).json().error.code).toBe('FP_NOT_FOUND');
    expect((await server.inject({ url: '/api/v1/devices' })).statusCode).toBe(401);
    const doc = (await server.inject({ url: '/api/v1/openapi.json' })).json();
    expect(doc.paths['/api/v1/devices']).toBeDefined();
    // Without operations the document says only what is mounted.
    expect(doc.info.description).toMatch(/^The Fleetpulse API: customers, sites, devices, .* audit log; plus the API/);
    await server.close();
  });
});

describe('extend', () => {
  it("puts more routes inside the API's scope, under its roles, audit and errors", async () => {
    fixture = tempInventory();
    const { key } = fixture.inventory.apiKeys.create({ name: 'v', role: 'viewer' });
    const server = Fastify();
    await server.register(apiPlugin, {
      prefix: '/api/v1',
      inventory: fixture.inventory,
      kinds: ['pc'],
      extend: async (api) => {
        api.post('/widgets', { config: { minRole: 'operator', action: 'widgets.create' } }, async () => ({ ok: true }));
        api.get('/widgets', { config: { minRole: 'viewer' } }, async () => ({ items: [] }));
      },
    });
    expect((await server.inject({ url: '/api/v1/widgets' })).statusCode).toBe(401);
    expect(
      (await server.inject({ url: '/api/v1/widgets', headers: { authorization: `Bearer ${key}` } })).statusCode,
    ).toBe(200);
    const denied = await server.inject({
      method: 'POST',
      url: '/api/v1/widgets',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(denied.json().error.code).toBe('FP_FORBIDDEN');
    expect(fixture.inventory.audit.list({ limit: 1 }).items[0]).toMatchObject({
      action: 'widgets.create',
      result: 'denied',
      status: 403,
    });
    await server.close();

    const careless = Fastify();
    const mount = async () => {
      await careless.register(apiPlugin, {
        prefix: '/api/v1',
        inventory: fixture.inventory,
        kinds: ['pc'],
        extend: (api) => void api.post('/open', async () => ({})),
      });
      await careless.ready();
    };
    await expect(mount()).rejects.toThrow(/route POST \/api\/v1\/open does not declare config.minRole/);
  });
});

describe('bootstrapAdminKey', () => {
  it('turns FLEETPULSE_ADMIN_KEY into an admin key on first start only', async () => {
    fixture = tempInventory();
    const inv = fixture.inventory;
    expect(await bootstrapAdminKey(inv, {})).toEqual({ created: false, reason: 'no_env' });
    const env = { FLEETPULSE_ADMIN_KEY: 'a-long-operator-chosen-admin-key-value' };
    const first = await bootstrapAdminKey(inv, env);
    expect(first).toMatchObject({ created: true, key: { name: 'bootstrap', role: 'admin', created_by: 'env' } });
    expect(first).not.toHaveProperty('warning');
    expect(inv.apiKeys.verify(env.FLEETPULSE_ADMIN_KEY)).toMatchObject({ role: 'admin' });
    expect(JSON.stringify(inv.db.prepare('SELECT * FROM api_keys').all())).not.toContain(env.FLEETPULSE_ADMIN_KEY);

    // revoked and restarted: the variable does not bring it back
    if (first.created) inv.apiKeys.revoke(first.key.id);
    expect(await bootstrapAdminKey(inv, env)).toMatchObject({
      created: false,
      reason: 'keys_exist',
      admitted: null,
      warning: expect.stringMatching(/matches no active API key.*fleetpulse keys create/),
    });
    expect(inv.apiKeys.verify(env.FLEETPULSE_ADMIN_KEY)).toBeNull();
    // a value that is one of the keys: nothing to say
    const other = inv.apiKeys.create({ name: 'ops', role: 'admin' });
    expect((await bootstrapAdminKey(inv, { FLEETPULSE_ADMIN_KEY: other.key })).warning).toBeUndefined();
  });

  it('warns about a short value, and the key works over HTTP', async () => {
    fixture = tempInventory();
    const result = await bootstrapAdminKey(fixture.inventory, { FLEETPULSE_ADMIN_KEY: 'changeme' });
    expect(result).toMatchObject({ created: true, warning: expect.stringMatching(/only 8 characters/) });
    const server = Fastify();
    await server.register(apiPlugin, { prefix: '/api/v1', inventory: fixture.inventory, kinds: ['pc'] });
    const res = await server.inject({ url: '/api/v1/keys', headers: { authorization: 'Bearer changeme' } });
    expect(res.statusCode).toBe(200);
    expect(
      (await server.inject({ url: '/api/v1/keys', headers: { authorization: 'Bearer changemf' } })).statusCode,
    ).toBe(401);
    await server.close();
  });
});
