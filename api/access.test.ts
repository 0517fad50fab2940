import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions, RouteOptions } from 'fastify';
import { maintenanceCalendar, startOperations } from '../bin/operations.ts';
import { roleRank, ROLES, type Inventory, type Role } from '../collector/inventory/index.ts';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import type { Operations } from '../collector/operations/operations.ts';
import { startFleet, type Fleet } from '../collector/operations/testing.ts';
import { useInfluxd } from '../test/helpers/influxd.ts';
import { build } from './app.ts';
import { CALLERS, KINDS, type Caller } from './testing.ts';

/**
 * The role × route matrix: every route of the API, called by every kind of caller. A row names
 * the lowest role that may call the route and the status a permitted call gets; each cell's
 * expectation follows from that: no key or a revoked key → 401, a lower role → 403. `request`
 * makes a fresh target per call, so that every permitted call can succeed (a DELETE deletes
 * something of its own). The app is wired as `serve` wires it (bin/commands/serve.ts): operations
 * started over a running collector (sessions included), InfluxDB for readings and reports.
 * Routes that plugins add (`config.minRole` in `ctx.http.route`) depend on the plugins installed and are
 * held to their roles by the plugins' own tests.
 */
interface Row {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The route as registered, to check that the table covers every route. */
  route: string;
  /** `secret`: public to API keys, open only with the incident webhook's shared secret. */
  minRole: Role | 'public' | 'secret';
  ok: number;
  request: (inv: Inventory, n: number) => Request | Promise<Request>;
}
type Request = { url: string; payload?: unknown; headers?: Record<string, string> };
/** The table's callers, plus Grafana with the webhook secret for the rows that take it. */
type MatrixCaller = Caller | 'secret';

const SECRET = 'matrix-webhook-secret-0123456789';
const SHA256 = 'a'.repeat(64);
const IMAGE = 'https://fw.example.com/image.bin';
let ops: Operations;

const device = (inv: Inventory, n: number, lifecycle: 'active' | 'pending' = 'active') =>
  inv.devices.create({ id: `M-${n}`, kind: 'terminal', site: 'acme-berlin', lifecycle }).id;
const customer = (inv: Inventory, n: number) => inv.customers.create({ id: `mc-${n}`, company: `Matrix ${n}` }).id;
const site = (inv: Inventory, n: number) =>
  inv.sites.create({ id: `ms-${n}`, customer: 'acme', name: `Matrix site ${n}` }).id;
const credential = (inv: Inventory, n: number) => {
  const id = device(inv, n);
  return { device: id, credential: inv.credentials.issue(id, 'agent_token').id };
};
/** A device of the fleet's test plugin, which declares `reboot` and `update_firmware`. */
const widget = (inv: Inventory, n: number, model?: string) =>
  inv.devices.create({ id: `W-${n}`, kind: 'widget', site: 'acme-berlin', model, firmware: '1' }).id;
/** A command queued for an offline widget: it stays queued. */
const command = (inv: Inventory, n: number) =>
  ops.commands.create([{ device: widget(inv, n), name: 'reboot', actor: 'matrix' }])[0].id;
const firmware = (n: number, model = `FM-${n}`) =>
  ops.firmware.add({ model, version: '2', url: IMAGE, sha256: SHA256 }).id;
/** A running rollout (paused if asked) over one offline widget of its own model. */
const rollout = (inv: Inventory, n: number, paused = false) => {
  widget(inv, n, `RM-${n}`);
  const r = ops.rollouts.create({ firmware_id: firmware(n, `RM-${n}`), selector: {} });
  return paused ? ops.rollouts.pause(r.id).id : r.id;
};
const window = (inv: Inventory, n: number) =>
  ops.windows.create({
    scope: 'device',
    target: device(inv, n),
    recurrence: 'daily',
    start_time: '01:00',
    duration_min: 60,
  }).id;
const incident = (n: number) =>
  ops.incidents.record({ status: 'firing', labels: { alertname: `matrix-${n}` }, startsAt: new Date().toISOString() })
    .incident.id;
const session = async (inv: Inventory, n: number) => (await ops.sessions.begin(device(inv, n), 30)).id;

const MATRIX: Row[] = [
  {
    method: 'GET',
    route: '/api/v1/openapi.json',
    minRole: 'public',
    ok: 200,
    request: () => ({ url: '/api/v1/openapi.json' }),
  },
  { method: 'GET', route: '/api/v1/docs', minRole: 'public', ok: 200, request: () => ({ url: '/api/v1/docs' }) },

  {
    method: 'GET',
    route: '/api/v1/customers',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/customers' }),
  },
  {
    method: 'POST',
    route: '/api/v1/customers',
    minRole: 'admin',
    ok: 201,
    request: (_i, n) => ({ url: '/api/v1/customers', payload: { id: `new-${n}`, company: 'New' } }),
  },
  {
    method: 'GET',
    route: '/api/v1/customers/:id',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/customers/acme' }),
  },
  {
    method: 'PATCH',
    route: '/api/v1/customers/:id',
    minRole: 'admin',
    ok: 200,
    request: () => ({ url: '/api/v1/customers/acme', payload: { phone: '+49 30 1234' } }),
  },
  {
    method: 'DELETE',
    route: '/api/v1/customers/:id',
    minRole: 'admin',
    ok: 204,
    request: (i, n) => ({ url: `/api/v1/customers/${customer(i, n)}` }),
  },

  {
    method: 'GET',
    route: '/api/v1/sites',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/sites?customer=acme' }),
  },
  {
    method: 'POST',
    route: '/api/v1/sites',
    minRole: 'admin',
    ok: 201,
    request: (_i, n) => ({ url: '/api/v1/sites', payload: { id: `new-site-${n}`, customer: 'acme', name: 'New' } }),
  },
  {
    method: 'GET',
    route: '/api/v1/sites/:id',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/sites/acme-berlin' }),
  },
  {
    method: 'PATCH',
    route: '/api/v1/sites/:id',
    minRole: 'admin',
    ok: 200,
    request: () => ({ url: '/api/v1/sites/acme-berlin', payload: { address: 'Unter den Linden 1' } }),
  },
  {
    method: 'DELETE',
    route: '/api/v1/sites/:id',
    minRole: 'admin',
    ok: 204,
    request: (i, n) => ({ url: `/api/v1/sites/${site(i, n)}` }),
  },

  {
    method: 'GET',
    route: '/api/v1/devices',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/devices?kind=terminal&limit=5' }),
  },
  {
    method: 'POST',
    route: '/api/v1/devices',
    minRole: 'admin',
    ok: 201,
    request: (_i, n) => ({ url: '/api/v1/devices', payload: { id: `NEW-${n}`, kind: 'pc' } }),
  },
  {
    method: 'GET',
    route: '/api/v1/devices/export',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/devices/export?format=csv' }),
  },
  {
    method: 'POST',
    route: '/api/v1/devices/import',
    minRole: 'admin',
    ok: 200,
    request: (_i, n) => ({
      url: '/api/v1/devices/import',
      payload: `id,kind\nIMP-${n}-a,plug\nIMP-${n}-b,plug\n`,
      headers: { 'content-type': 'text/csv' },
    }),
  },
  {
    method: 'GET',
    route: '/api/v1/devices/:id',
    minRole: 'viewer',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/devices/${device(i, n)}` }),
  },
  {
    method: 'PATCH',
    route: '/api/v1/devices/:id',
    minRole: 'admin',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/devices/${device(i, n)}`, payload: { firmware: '2.0' } }),
  },
  {
    method: 'DELETE',
    route: '/api/v1/devices/:id',
    minRole: 'admin',
    ok: 204,
    request: (i, n) => ({ url: `/api/v1/devices/${device(i, n)}` }),
  },
  {
    method: 'POST',
    route: '/api/v1/devices/:id/approve',
    minRole: 'admin',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/devices/${device(i, n, 'pending')}/approve` }),
  },

  {
    method: 'GET',
    route: '/api/v1/devices/:id/credentials',
    minRole: 'viewer',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/devices/${credential(i, n).device}/credentials` }),
  },
  {
    method: 'POST',
    route: '/api/v1/devices/:id/credentials',
    minRole: 'admin',
    ok: 201,
    request: (i, n) => ({ url: `/api/v1/devices/${device(i, n)}/credentials`, payload: { type: 'agent_token' } }),
  },
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
  {
    method: 'POST',
    route: '/api/v1/keys',
    minRole: 'admin',
    ok: 201,
    request: (_i, n) => ({ url: '/api/v1/keys', payload: { name: `k${n}`, role: 'viewer' } }),
  },
  {
    method: 'DELETE',
    route: '/api/v1/keys/:id',
    minRole: 'admin',
    ok: 204,
    request: (i, n) => ({ url: `/api/v1/keys/${i.apiKeys.create({ name: `gone-${n}`, role: 'viewer' }).id}` }),
  },

  {
    method: 'GET',
    route: '/api/v1/audit',
    minRole: 'admin',
    ok: 200,
    request: () => ({ url: '/api/v1/audit?limit=5' }),
  },

  {
    method: 'GET',
    route: '/api/v1/commands',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/commands?limit=5' }),
  },
  {
    method: 'POST',
    route: '/api/v1/commands',
    minRole: 'operator',
    ok: 201,
    request: (i, n) => ({ url: '/api/v1/commands', payload: { device: widget(i, n), name: 'reboot' } }),
  },
  {
    method: 'GET',
    route: '/api/v1/commands/:id',
    minRole: 'viewer',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/commands/${command(i, n)}` }),
  },
  {
    method: 'POST',
    route: '/api/v1/commands/:id/cancel',
    minRole: 'operator',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/commands/${command(i, n)}/cancel` }),
  },

  {
    method: 'GET',
    route: '/api/v1/firmware',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/firmware' }),
  },
  {
    method: 'POST',
    route: '/api/v1/firmware',
    minRole: 'admin',
    ok: 201,
    request: (_i, n) => ({
      url: '/api/v1/firmware',
      payload: { model: `NF-${n}`, version: '2', url: IMAGE, sha256: SHA256 },
    }),
  },
  {
    method: 'GET',
    route: '/api/v1/firmware/:id',
    minRole: 'viewer',
    ok: 200,
    request: (_i, n) => ({ url: `/api/v1/firmware/${firmware(n)}` }),
  },
  {
    method: 'DELETE',
    route: '/api/v1/firmware/:id',
    minRole: 'admin',
    ok: 204,
    request: (_i, n) => ({ url: `/api/v1/firmware/${firmware(n)}` }),
  },

  {
    method: 'GET',
    route: '/api/v1/rollouts',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/rollouts' }),
  },
  {
    method: 'POST',
    route: '/api/v1/rollouts',
    minRole: 'admin',
    ok: 201,
    request: (i, n) => {
      widget(i, n, `RM-${n}`);
      return { url: '/api/v1/rollouts', payload: { firmware_id: firmware(n, `RM-${n}`), selector: {} } };
    },
  },
  {
    method: 'GET',
    route: '/api/v1/rollouts/:id',
    minRole: 'viewer',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/rollouts/${rollout(i, n)}` }),
  },
  {
    method: 'GET',
    route: '/api/v1/rollouts/:id/devices',
    minRole: 'viewer',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/rollouts/${rollout(i, n)}/devices` }),
  },
  {
    method: 'POST',
    route: '/api/v1/rollouts/:id/pause',
    minRole: 'operator',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/rollouts/${rollout(i, n)}/pause` }),
  },
  {
    method: 'POST',
    route: '/api/v1/rollouts/:id/resume',
    minRole: 'operator',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/rollouts/${rollout(i, n, true)}/resume` }),
  },
  {
    method: 'POST',
    route: '/api/v1/rollouts/:id/abort',
    minRole: 'operator',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/rollouts/${rollout(i, n)}/abort` }),
  },

  {
    method: 'GET',
    route: '/api/v1/maintenance',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/maintenance' }),
  },
  {
    method: 'POST',
    route: '/api/v1/maintenance',
    minRole: 'operator',
    ok: 201,
    request: (i, n) => ({
      url: '/api/v1/maintenance',
      payload: { scope: 'device', target: device(i, n), recurrence: 'daily', start_time: '01:00', end_time: '02:00' },
    }),
  },
  {
    method: 'GET',
    route: '/api/v1/maintenance/:id',
    minRole: 'viewer',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/maintenance/${window(i, n)}` }),
  },
  {
    method: 'DELETE',
    route: '/api/v1/maintenance/:id',
    minRole: 'operator',
    ok: 204,
    request: (i, n) => ({ url: `/api/v1/maintenance/${window(i, n)}` }),
  },
  {
    method: 'GET',
    route: '/api/v1/maintenance/devices/:id',
    minRole: 'viewer',
    ok: 200,
    request: (i, n) => ({ url: `/api/v1/maintenance/devices/${device(i, n)}` }),
  },

  {
    method: 'POST',
    route: '/api/v1/incidents/webhook',
    minRole: 'secret',
    ok: 200,
    request: (_i, n) => ({
      url: '/api/v1/incidents/webhook',
      payload: {
        alerts: [{ status: 'firing', labels: { alertname: `hook-${n}` }, startsAt: new Date().toISOString() }],
      },
    }),
  },
  {
    method: 'GET',
    route: '/api/v1/incidents',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/incidents?limit=5' }),
  },
  {
    method: 'GET',
    route: '/api/v1/incidents/stats',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/incidents/stats?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z' }),
  },
  {
    method: 'GET',
    route: '/api/v1/incidents/:id',
    minRole: 'viewer',
    ok: 200,
    request: (_i, n) => ({ url: `/api/v1/incidents/${incident(n)}` }),
  },
  {
    method: 'POST',
    route: '/api/v1/incidents/:id/ack',
    minRole: 'support',
    ok: 200,
    request: (_i, n) => ({ url: `/api/v1/incidents/${incident(n)}/ack` }),
  },
  {
    method: 'POST',
    route: '/api/v1/incidents/:id/assign',
    minRole: 'support',
    ok: 200,
    request: (_i, n) => ({ url: `/api/v1/incidents/${incident(n)}/assign`, payload: { assignee: 'sam' } }),
  },
  {
    method: 'POST',
    route: '/api/v1/incidents/:id/comments',
    minRole: 'support',
    ok: 200,
    request: (_i, n) => ({ url: `/api/v1/incidents/${incident(n)}/comments`, payload: { text: 'on it' } }),
  },
  {
    method: 'POST',
    route: '/api/v1/incidents/:id/resolve',
    minRole: 'support',
    ok: 200,
    request: (_i, n) => ({ url: `/api/v1/incidents/${incident(n)}/resolve` }),
  },

  {
    method: 'GET',
    route: '/api/v1/reports/uptime',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/reports/uptime?month=2026-10&format=csv' }),
  },

  {
    method: 'GET',
    route: '/api/v1/sessions',
    minRole: 'viewer',
    ok: 200,
    request: () => ({ url: '/api/v1/sessions' }),
  },
  {
    method: 'POST',
    route: '/api/v1/sessions',
    minRole: 'operator',
    ok: 201,
    request: (i, n) => ({ url: '/api/v1/sessions', payload: { station: device(i, n), minutes: 30 } }),
  },
  {
    method: 'GET',
    route: '/api/v1/sessions/:id',
    minRole: 'viewer',
    ok: 200,
    request: async (i, n) => ({ url: `/api/v1/sessions/${await session(i, n)}` }),
  },
  {
    method: 'POST',
    route: '/api/v1/sessions/:id/extend',
    minRole: 'operator',
    ok: 200,
    request: async (i, n) => ({ url: `/api/v1/sessions/${await session(i, n)}/extend`, payload: { minutes: 15 } }),
  },
  {
    method: 'POST',
    route: '/api/v1/sessions/:id/stop',
    minRole: 'operator',
    ok: 200,
    request: async (i, n) => ({ url: `/api/v1/sessions/${await session(i, n)}/stop` }),
  },
];

function expected(row: Row, caller: MatrixCaller): number {
  if (row.minRole === 'public') return row.ok;
  if (row.minRole === 'secret') return caller === 'secret' ? row.ok : 401;
  if (caller === 'none' || caller === 'revoked' || caller === 'secret') return 401;
  return roleRank(caller) >= roleRank(row.minRole) ? row.ok : 403;
}
const callersOf = (row: Row): readonly MatrixCaller[] => (row.minRole === 'secret' ? [...CALLERS, 'secret'] : CALLERS);

let app: FastifyInstance;
let inventory: Inventory;
let fleet: Fleet;
let cleanup: () => void;
const keys = {} as Record<Role | 'revoked', string>;
const registered: string[] = [];
const influxd = useInfluxd();

beforeAll(async () => {
  const fixture = tempInventory();
  inventory = fixture.inventory;
  cleanup = fixture.cleanup;
  seedOwners(inventory);
  for (const role of ROLES) keys[role] = inventory.apiKeys.create({ name: `${role}-key`, role }).key;
  const revoked = inventory.apiKeys.create({ name: 'revoked-key', role: 'admin' });
  inventory.apiKeys.revoke(revoked.id);
  keys.revoked = revoked.key;
  const log = pino({ level: 'silent' });
  const influx = influxd.client(await influxd.freshDatabase());
  fleet = await startFleet(inventory);
  const env = { FLEETPULSE_INCIDENT_WEBHOOK_SECRET: SECRET };
  ops = startOperations({
    inventory,
    collector: fleet.collector,
    plugins: [fleet.plugin],
    influx,
    maintenance: maintenanceCalendar(inventory),
    log,
    env,
  });
  app = build({
    inventory,
    kinds: [...KINDS, 'widget'],
    influx,
    operations: ops,
    // The matrix makes hundreds of refused calls from one address; the limiter that would
    // block them is api/auth-failures.test.ts's subject, not this table's.
    limits: { authFailures: { max: 100_000, timeWindowMs: 60_000 } },
  });
  // Walk the routes the app really has, to hold the table to every one of them.
  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) {
      if (
        method === 'HEAD' ||
        route.url.startsWith('/api/v1/docs/static') ||
        /^\/api\/v1\/docs\/(json|yaml)$/.test(route.url)
      )
        continue;
      registered.push(`${method} ${route.url}`);
    }
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await ops?.stop(100);
  await fleet?.stop();
  cleanup?.();
});

function call(caller: MatrixCaller, inject: InjectOptions) {
  const headers = { ...(inject.headers ?? {}) } as Record<string, string>;
  if (caller !== 'none') headers.authorization = `Bearer ${caller === 'secret' ? SECRET : keys[caller]}`;
  return app.inject({ ...inject, headers });
}

describe('role × route matrix', { timeout: 30_000 }, () => {
  it('covers every route the API registers', () => {
    const covered = MATRIX.map((r) => `${r.method} ${r.route}`);
    expect(registered.filter((r) => !covered.includes(r)).sort()).toEqual([]);
    expect(covered.filter((r) => !registered.includes(r))).toEqual([]);
  });

  let n = 0;
  for (const row of MATRIX) {
    describe(`${row.method} ${row.route}`, () => {
      for (const caller of callersOf(row)) {
        const status = expected(row, caller);
        it(`${caller} → ${status}`, async () => {
          const req = await row.request(inventory, ++n);
          const res = await call(caller, { method: row.method, ...req } as never);
          expect(res.statusCode, res.body).toBe(status);
          if (status === 401) expect(res.json().error.code).toBe('FP_UNAUTHENTICATED');
          if (status === 403) expect(res.json().error.code).toBe('FP_FORBIDDEN');
        });
      }
    });
  }

  it('wrote an audit row for every mutating call, allowed or denied', () => {
    const mutating = MATRIX.filter((r) => r.method !== 'GET');
    const rows = inventory.audit.list({ limit: 100_000 }).items;
    for (const row of mutating) {
      const path = new RegExp(`^${row.route.replace(/:[a-z]+/g, '[^/]+')}$`);
      const mine = rows.filter((e) => e.method === row.method && path.test(e.path ?? ''));
      expect(mine.length, `${row.method} ${row.route}`).toBeGreaterThanOrEqual(callersOf(row).length);
      for (const caller of callersOf(row)) {
        const status = expected(row, caller);
        // A public route never looks at API keys: its rows name no role.
        const role =
          row.minRole === 'secret' || caller === 'none' || caller === 'revoked' || caller === 'secret' ? null : caller;
        const hit = mine.find((e) => e.role === role && e.status === status);
        expect(hit, `${row.method} ${row.route} as ${caller}`).toBeDefined();
        expect(hit!.result).toBe(status < 400 ? 'ok' : 'denied');
        expect(hit!.source).toBe('127.0.0.1');
        expect(hit!.action).toMatch(/^[a-z]+\.[a-z]+$/);
      }
    }
  });
});
