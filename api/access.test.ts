import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteOptions } from 'fastify';
import { roleRank, type Inventory, type Role } from '../collector/inventory/index.ts';
import { CALLERS, testApi, type Caller, type TestApi } from './test-helpers.ts';

/**
 * The role × route matrix: every route of the API, called by every kind of caller. A row names
 * the lowest role that may call the route and the status a permitted call gets; each cell's
 * expectation follows from that: no key or a revoked key → 401, a lower role → 403. `setup`
 * makes a fresh target per call, so that every permitted call can succeed (a DELETE deletes
 * something of its own).
 */
interface Row {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The route as registered, to check that the table covers every route. */
  route: string;
  minRole: Role | 'public';
  ok: number;
  request: (inv: Inventory, n: number) => { url: string; payload?: unknown; headers?: Record<string, string> };
}

const device = (inv: Inventory, n: number, lifecycle: 'active' | 'pending' = 'active') =>
  inv.devices.create({ id: `M-${n}`, kind: 'terminal', site: 'acme-berlin', lifecycle }).id;
const customer = (inv: Inventory, n: number) => inv.customers.create({ id: `mc-${n}`, company: `Matrix ${n}` }).id;
const site = (inv: Inventory, n: number) => inv.sites.create({ id: `ms-${n}`, customer: 'acme', name: `Matrix site ${n}` }).id;
const credential = (inv: Inventory, n: number) => {
  const id = device(inv, n);
  return { device: id, credential: inv.credentials.issue(id, 'agent_token').id };
};

const MATRIX: Row[] = [
  { method: 'GET', route: '/api/v1/openapi.json', minRole: 'public', ok: 200, request: () => ({ url: '/api/v1/openapi.json' }) },
  { method: 'GET', route: '/api/v1/docs', minRole: 'public', ok: 200, request: () => ({ url: '/api/v1/docs' }) },

  { method: 'GET', route: '/api/v1/customers', minRole: 'viewer', ok: 200, request: () => ({ url: '/api/v1/customers' }) },
  { method: 'POST', route: '/api/v1/customers', minRole: 'admin', ok: 201, request: (_i, n) => ({ url: '/api/v1/customers', payload: { id: `new-${n}`, company: 'New' } }) },
  { method: 'GET', route: '/api/v1/customers/:id', minRole: 'viewer', ok: 200, request: () => ({ url: '/api/v1/customers/acme' }) },
  { method: 'PATCH', route: '/api/v1/customers/:id', minRole: 'admin', ok: 200, request: () => ({ url: '/api/v1/customers/acme', payload: { phone: '+49 30 1234' } }) },
  { method: 'DELETE', route: '/api/v1/customers/:id', minRole: 'admin', ok: 204, request: (i, n) => ({ url: `/api/v1/customers/${customer(i, n)}` }) },

  { method: 'GET', route: '/api/v1/sites', minRole: 'viewer', ok: 200, request: () => ({ url: '/api/v1/sites?customer=acme' }) },
  { method: 'POST', route: '/api/v1/sites', minRole: 'admin', ok: 201, request: (_i, n) => ({ url: '/api/v1/sites', payload: { id: `new-site-${n}`, customer: 'acme', name: 'New' } }) },
  { method: 'GET', route: '/api/v1/sites/:id', minRole: 'viewer', ok: 200, request: () => ({ url: '/api/v1/sites/acme-berlin' }) },
  { method: 'PATCH', route: '/api/v1/sites/:id', minRole: 'admin', ok: 200, request: () => ({ url: '/api/v1/sites/acme-berlin', payload: { address: 'Unter den Linden 1' } }) },
  { method: 'DELETE', route: '/api/v1/sites/:id', minRole: 'admin', ok: 204, request: (i, n) => ({ url: `/api/v1/sites/${site(i, n)}` }) },

  { method: 'GET', route: '/api/v1/devices', minRole: 'viewer', ok: 200, request: () => ({ url: '/api/v1/devices?kind=terminal&limit=5' }) },
  { method: 'POST', route: '/api/v1/devices', minRole: 'admin', ok: 201, request: (_i, n) => ({ url: '/api/v1/devices', payload: { id: `NEW-${n}`, kind: 'pc' } }) },
  { method: 'GET', route: '/api/v1/devices/export', minRole: 'viewer', ok: 200, request: () => ({ url: '/api/v1/devices/export?format=csv' }) },
  {
    method: 'POST',
    route: '/api/v1/devices/import',
    minRole: 'admin',
    ok: 200,
    request: (_i, n) => ({ url: '/api/v1/devices/import', payload: `id,kind\nIMP-${n}-a,plug\nIMP-${n}-b,plug\n`, headers: { 'content-type': 'text/csv' } }),
  },
  { method: 'GET', route: '/api/v1/devices/:id', minRole: 'viewer', ok: 200, request: (i, n) => ({ url: `/api/v1/devices/${device(i, n)}` }) },
  { method: 'PATCH', route: '/api/v1/devices/:id', minRole: 'admin', ok: 200, request: (i, n) => ({ url: `/api/v1/devices/${device(i, n)}`, payload: { firmware: '2.0' } }) },
  { method: 'DELETE', route: '/api/v1/devices/:id', minRole: 'admin', ok: 204, request: (i, n) => ({ url: `/api/v1/devices/${device(i, n)}` }) },
  { method: 'POST', route: '/api/v1/devices/:id/approve', minRole: 'admin', ok: 200, request: (i, n) => ({ url: `/api/v1/devices/${device(i, n, 'pending')}/approve` }) },

  { method: 'GET', route: '/api/v1/devices/:id/credentials', minRole: 'viewer', ok: 200, request: (i, n) => ({ url: `/api/v1/devices/${credential(i, n).device}/credentials` }) },
  { method: 'POST', route: '/api/v1/devices/:id/credentials', minRole: 'admin', ok: 201, request: (i, n) => ({ url: `/api/v1/devices/${device(i, n)}/credentials`, payload: { type: 'agent_token' } }) },
  {
    method: 'POST',
    route: '/api/v1/devices/:id/credentials/:credential/rotate',
    minRole: 'admin',
    ok: 200,
    request: (i, n) => {
      const c = credential(i, n);
      return { url: `/api/v1/devices/${c.device}/credentials/${c.credential}/rotate` };
    },
  },
  {
    method: 'DELETE',
    route: '/api/v1/devices/:id/credentials/:credential',
    minRole: 'admin',
    ok: 204,
    request: (i, n) => {
      const c = credential(i, n);
      return { url: `/api/v1/devices/${c.device}/credentials/${c.credential}` };
    },
  },

  { method: 'GET', route: '/api/v1/keys', minRole: 'admin', ok: 200, request: () => ({ url: '/api/v1/keys' }) },
  { method: 'POST', route: '/api/v1/keys', minRole: 'admin', ok: 201, request: (_i, n) => ({ url: '/api/v1/keys', payload: { name: `k${n}`, role: 'viewer' } }) },
  { method: 'DELETE', route: '/api/v1/keys/:id', minRole: 'admin', ok: 204, request: (i, n) => ({ url: `/api/v1/keys/${i.apiKeys.create({ name: `gone-${n}`, role: 'viewer' }).id}` }) },

  { method: 'GET', route: '/api/v1/audit', minRole: 'admin', ok: 200, request: () => ({ url: '/api/v1/audit?limit=5' }) },
];

function expected(row: Row, caller: Caller): number {
  if (row.minRole === 'public') return row.ok;
  if (caller === 'none' || caller === 'revoked') return 401;
  return roleRank(caller) >= roleRank(row.minRole) ? row.ok : 403;
}

let api: TestApi;
const registered: string[] = [];

beforeAll(async () => {
  api = await testApi();
});
afterAll(() => api.cleanup());

describe('role × route matrix', () => {
  it('covers every route the API registers', async () => {
    const { build } = await import('./app.ts');
    // Walk the routes an app really has, to hold the table to every one of them.
    const probe = build({ inventory: api.inventory, kinds: ['terminal'] });
    probe.addHook('onRoute', (route: RouteOptions) => {
      for (const method of [route.method].flat()) {
        if (method === 'HEAD' || route.url.startsWith('/api/v1/docs/static') || /^\/api\/v1\/docs\/(json|yaml)$/.test(route.url)) continue;
        registered.push(`${method} ${route.url}`);
      }
    });
    await probe.ready();
    await probe.close();
    const covered = MATRIX.map((r) => `${r.method} ${r.route}`);
    expect(registered.filter((r) => !covered.includes(r)).sort()).toEqual([]);
    expect(covered.filter((r) => !registered.includes(r))).toEqual([]);
  });

  let n = 0;
  for (const row of MATRIX) {
    describe(`${row.method} ${row.route}`, () => {
      for (const caller of CALLERS) {
        const status = expected(row, caller);
        it(`${caller} → ${status}`, async () => {
          const req = row.request(api.inventory, ++n);
          const res = await api.call(caller, { method: row.method, ...req } as never);
          expect(res.statusCode, res.body).toBe(status);
          if (status === 401) expect(res.json().error.code).toBe('FP_UNAUTHENTICATED');
          if (status === 403) expect(res.json().error.code).toBe('FP_FORBIDDEN');
        });
      }
    });
  }

  it('wrote an audit row for every mutating call, allowed or denied', () => {
    const mutating = MATRIX.filter((r) => r.method !== 'GET');
    const rows = api.inventory.audit.list({ limit: 10_000 }).items;
    for (const row of mutating) {
      const path = new RegExp(`^${row.route.replace(/:[a-z]+/g, '[^/]+')}$`);
      const mine = rows.filter((e) => e.method === row.method && path.test(e.path ?? ''));
      expect(mine.length, `${row.method} ${row.route}`).toBeGreaterThanOrEqual(CALLERS.length);
      for (const caller of CALLERS) {
        const status = expected(row, caller);
        const role = caller === 'none' || caller === 'revoked' ? null : caller;
        const hit = mine.find((e) => e.role === role && e.status === status);
        expect(hit, `${row.method} ${row.route} as ${caller}`).toBeDefined();
        expect(hit!.result).toBe(status < 400 ? 'ok' : 'denied');
        expect(hit!.source).toBe('127.0.0.1');
        expect(hit!.action).toMatch(/^[a-z]+\.[a-z]+$/);
      }
    }
  });
});
