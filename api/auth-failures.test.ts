import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { tempInventory } from '../collector/inventory/testing.ts';
import { SelfMetrics } from '../collector/runtime/self-metrics.ts';
import { apiPlugin, bootstrapAdminKey } from './index.ts';

let fixture: ReturnType<typeof tempInventory>;
let server: FastifyInstance | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  fixture.cleanup();
});

const ADMIN_KEY = 'an-operator-chosen-admin-key-of-some-length';

/** The API as serve mounts it: failures counted in the process's registry, shown on /metrics. */
async function serveLike(limits: { max: number } = { max: 30 }): Promise<FastifyInstance> {
  const metrics = new SelfMetrics('test');
  const app = Fastify();
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  await app.register(apiPlugin, {
    prefix: '/api/v1',
    inventory: fixture.inventory,
    kinds: ['pc'],
    limits: { authFailures: { max: limits.max, timeWindowMs: 60_000 } },
    onAuthFailure: (reason) => metrics.authFailures.labels(reason).inc(),
  });
  await app.ready();
  return app;
}

function get(app: FastifyInstance, key: string, remoteAddress = '198.51.100.7') {
  return app.inject({ url: '/api/v1/customers', headers: { authorization: `Bearer ${key}` }, remoteAddress });
}

function counted(text: string, reason: string): number {
  const m = new RegExp(`^fleetpulse_auth_failures_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('failed authentications', () => {
  it('are limited per address at 30 a minute, audited, and counted on /metrics; other addresses are served', async () => {
    fixture = tempInventory();
    const { key } = fixture.inventory.apiKeys.create({ name: 'ops', role: 'admin' });
    server = await serveLike();
    const wrong = [
      `fpk_${'a'.repeat(8)}_${'x'.repeat(43)}`,
      key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'),
      'free-text-guess',
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await get(server, wrong[i % wrong.length])).statusCode);
    expect(statuses.slice(0, 30)).toEqual(Array(30).fill(401));
    expect(statuses.slice(30)).toEqual(Array(10).fill(429));

    // Over the limit no key is checked at all: even the right one is refused from there.
    const blocked = await get(server, key);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
    expect(blocked.json().error).toMatchObject({
      code: 'FP_RATE_LIMITED',
      message: expect.stringMatching(/failed authentications/),
    });
    // ... while another address, and a wrong key from it, are treated as usual.
    expect((await get(server, key, '198.51.100.8')).statusCode).toBe(200);
    expect((await get(server, 'free-text-guess', '198.51.100.8')).statusCode).toBe(401);

    const rows = fixture.inventory.audit.list({ limit: 100, action: 'auth.refused' }).items;
    expect(rows).toHaveLength(31);
    expect(rows.filter((r) => r.source === '198.51.100.7')).toHaveLength(30);
    expect(rows[0]).toMatchObject({
      status: 401,
      result: 'denied',
      method: 'GET',
      path: '/api/v1/customers',
      actor: null,
    });

    const text = (await server.inject({ url: '/metrics' })).body;
    expect(counted(text, 'invalid_key')).toBe(31);
    expect(counted(text, 'blocked')).toBe(11);
  });

  it('counts a missing key and a malformed header by their reasons', async () => {
    fixture = tempInventory();
    server = await serveLike();
    expect((await server.inject({ url: '/api/v1/customers' })).statusCode).toBe(401);
    expect(
      (await server.inject({ url: '/api/v1/customers', headers: { authorization: 'Basic eDp5' } })).statusCode,
    ).toBe(401);
    const text = (await server.inject({ url: '/metrics' })).body;
    expect(counted(text, 'missing_key')).toBe(1);
    expect(counted(text, 'malformed_header')).toBe(1);
  });
});

describe('the bootstrap key', () => {
  it('is checked with scrypt once at start, never per request, and keeps working after a restart', async () => {
    fixture = tempInventory();
    const env = { FLEETPULSE_ADMIN_KEY: ADMIN_KEY };
    expect(await bootstrapAdminKey(fixture.inventory, env)).toMatchObject({ created: true });
    const other = fixture.inventory.apiKeys.create({ name: 'ops', role: 'operator' });

    // A restart without the variable: the stored scrypt hash would accept the value, but no
    // request computes it, so the key is refused (and serve says why at start).
    fixture.reopen();
    const startWithout = await bootstrapAdminKey(fixture.inventory, {});
    expect(startWithout).toMatchObject({
      created: false,
      reason: 'no_env',
      warning: expect.stringMatching(/1 operator-chosen API key/),
    });
    server = await serveLike();
    expect((await get(server, ADMIN_KEY)).statusCode).toBe(401);
    expect((await get(server, other.key)).statusCode).toBe(200);
    await server.close();

    // A restart with it: admitted at start, then accepted by every request.
    fixture.reopen();
    expect(await bootstrapAdminKey(fixture.inventory, env)).toMatchObject({
      created: false,
      reason: 'keys_exist',
      admitted: { name: 'bootstrap' },
    });
    server = await serveLike();
    expect((await get(server, ADMIN_KEY)).statusCode).toBe(200);
    expect((await get(server, ADMIN_KEY.slice(0, -1))).statusCode).toBe(401);
  });
});
