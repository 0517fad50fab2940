import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testApi, type TestApi } from './testing.ts';

let api: TestApi;
beforeEach(async () => {
  api = await testApi();
});
afterEach(() => api.cleanup());

const get = (url: string) => api.call('viewer', { url }).then((r) => ({ status: r.statusCode, body: r.json() }));

function seedFleet(n: number): void {
  const sites = ['acme-berlin', 'acme-hamburg', 'volt-lyon', null];
  api.inventory.devices.importDevices(
    Array.from({ length: n }, (_, i) => ({
      row: i + 1,
      device: {
        id: `DEV-${String(i).padStart(4, '0')}`,
        kind: ['terminal', 'pc', 'charger'][i % 3],
        model: i % 3 === 2 ? 'Wallbox' : 'TC-200',
        site: sites[i % 4],
        firmware: `1.${i % 4}`,
        labels: { ring: String(i % 5) },
      },
    })),
    'create',
  );
  for (let i = 0; i < n; i++) {
    if (i % 2)
      api.inventory.directory.reportStatus(
        `DEV-${String(i).padStart(4, '0')}`,
        i % 4 === 1 ? 'offline' : 'online',
        1_700_000_000_000 + i * 1000,
      );
  }
}

describe('device list', () => {
  it('filters, searches and pages with an opaque cursor until the end', async () => {
    seedFleet(120);
    const { body } = await get('/api/v1/devices?kind=terminal&state=offline&limit=100');
    expect(body.items.length).toBeGreaterThan(0);
    expect(
      body.items.every((d: { kind: string; state: string }) => d.kind === 'terminal' && d.state === 'offline'),
    ).toBe(true);
    expect(
      (await get('/api/v1/devices?customer=volt&limit=500')).body.items.every(
        (d: { site: string }) => d.site === 'volt-lyon',
      ),
    ).toBe(true);
    expect(
      (await get('/api/v1/devices?label=ring:3&model=Wallbox&limit=500')).body.items.map((d: { id: string }) => d.id),
    ).toEqual(['DEV-0008', 'DEV-0023', 'DEV-0038', 'DEV-0053', 'DEV-0068', 'DEV-0083', 'DEV-0098', 'DEV-0113']);
    expect((await get('/api/v1/devices?q=hamburg&firmware=1.1&limit=500')).body.items).toHaveLength(30);
    expect((await get('/api/v1/devices?q=dev-011&lifecycle=active')).body.items).toHaveLength(10);

    const walked: string[] = [];
    let url = '/api/v1/devices?sort=-last_seen&limit=7';
    for (let pages = 0; pages < 50; pages++) {
      const page = (await get(url)).body;
      walked.push(...page.items.map((d: { id: string }) => d.id));
      if (!page.next_cursor) break;
      expect(page.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      url = `/api/v1/devices?sort=-last_seen&limit=7&cursor=${page.next_cursor}`;
    }
    expect(walked).toHaveLength(120);
    expect(new Set(walked).size).toBe(120);
    // newest first, the never-seen ones at the end
    expect(walked[0]).toBe('DEV-0119');
    expect(walked.slice(60)).toEqual(walked.slice(60).sort().reverse());
  });

  it('shows live state and last_seen, and readings null without InfluxDB', async () => {
    api.inventory.devices.create({ id: 'CP-1', kind: 'charger', site: 'volt-lyon' });
    api.inventory.directory.reportStatus('CP-1', 'error', Date.UTC(2026, 0, 2, 3, 4, 5));
    const { status, body } = await get('/api/v1/devices/CP-1');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: 'CP-1',
      state: 'error',
      last_seen: '2026-01-02T03:04:05.000Z',
      readings: null,
      customer: 'volt',
    });
    expect(body).not.toHaveProperty('readings_error');
  });

  it('reports readings_error when InfluxDB fails, and still answers', async () => {
    await api.cleanup();
    api = await testApi({ influx: { query: async () => Promise.reject(new Error('connection refused')) } });
    api.inventory.devices.create({ id: 'CP-1', kind: 'charger' });
    const { status, body } = await get('/api/v1/devices/CP-1');
    expect(status).toBe(200);
    expect(body).toMatchObject({ readings: null, readings_error: 'connection refused' });
  });
});

describe('pending devices', () => {
  it('shows a device that connected unknown as pending, until approved', async () => {
    await api.inventory.directory.discover('CP-UNKNOWN', { kind: 'charger', model: 'Pulsar', firmware: '5.0' });
    const pending = (await get('/api/v1/devices?lifecycle=pending')).body.items;
    expect(pending).toEqual([
      expect.objectContaining({
        id: 'CP-UNKNOWN',
        lifecycle: 'pending',
        model: 'Pulsar',
        first_seen: expect.any(String),
      }),
    ]);
    expect(await api.inventory.directory.authenticate('CP-UNKNOWN', { type: 'ocpp_password', secret: 'x' })).toEqual({
      ok: false,
      reason: 'pending',
    });

    const approved = await api.call('admin', { method: 'POST', url: '/api/v1/devices/CP-UNKNOWN/approve' });
    expect(approved.statusCode).toBe(200);
    expect(approved.json().lifecycle).toBe('active');
    expect((await api.call('admin', { method: 'POST', url: '/api/v1/devices/CP-UNKNOWN/approve' })).statusCode).toBe(
      409,
    );

    const issued = await api.call('admin', {
      method: 'POST',
      url: '/api/v1/devices/CP-UNKNOWN/credentials',
      payload: { type: 'ocpp_password' },
    });
    expect(
      await api.inventory.directory.authenticate('CP-UNKNOWN', { type: 'ocpp_password', secret: issued.json().secret }),
    ).toMatchObject({ ok: true });
  });

  it('lists with each pending device what it sent when it connected, when asked (include=reported)', async () => {
    const boot = (serial: string) => ({ vendor: 'Volta', model: 'Pulsar', serial, firmware: '5.0' });
    await api.inventory.directory.discover('CP-A', { kind: 'charger', reported: boot('SN-A') });
    await api.inventory.directory.discover('CP-B', { kind: 'charger' });
    await api.inventory.directory.discover('CP-C', { kind: 'charger', reported: boot('SN-C') });
    const listed = (await get('/api/v1/devices?lifecycle=pending&include=reported')).body.items as Array<{
      id: string;
      reported: unknown;
    }>;
    expect(listed.map((d) => [d.id, d.reported])).toEqual([
      ['CP-A', { at: expect.any(String), values: boot('SN-A') }],
      ['CP-B', null],
      ['CP-C', { at: expect.any(String), values: boot('SN-C') }],
    ]);
    const plain = (await get('/api/v1/devices?lifecycle=pending')).body.items as object[];
    expect(plain.map((d) => 'reported' in d)).toEqual([false, false, false]);
  });
});

describe('credentials over the API', () => {
  it('shows a secret once, rotates it, and revocation rejects the device at once', async () => {
    api.inventory.devices.create({ id: 'AG-1', kind: 'pc' });
    const issued = await api.call('admin', {
      method: 'POST',
      url: '/api/v1/devices/AG-1/credentials',
      payload: { type: 'agent_token' },
    });
    expect(issued.statusCode).toBe(201);
    expect(issued.headers['cache-control']).toBe('no-store');
    const { id, secret } = issued.json();
    const auth = (s: string) => api.inventory.directory.authenticate('AG-1', { type: 'agent_token', secret: s });
    expect(await auth(secret)).toMatchObject({ ok: true });

    const listed = (await get('/api/v1/devices/AG-1/credentials')).body.items;
    expect(listed).toEqual([expect.objectContaining({ id, type: 'agent_token', scheme: 'sha256', active: true })]);
    expect(JSON.stringify(listed)).not.toContain(secret);

    const rotated = await api.call('admin', { method: 'POST', url: `/api/v1/devices/AG-1/credentials/${id}/rotate` });
    expect(rotated.statusCode).toBe(200);
    expect(await auth(secret)).toEqual({ ok: false, reason: 'bad_secret' });
    expect(await auth(rotated.json().secret)).toMatchObject({ ok: true });

    const revoked = await api.call('admin', { method: 'DELETE', url: `/api/v1/devices/AG-1/credentials/${id}` });
    expect(revoked.statusCode).toBe(204);
    expect(await auth(rotated.json().secret)).toEqual({ ok: false, reason: 'no_credential' });
    expect((await get('/api/v1/devices/AG-1/credentials')).body.items[0]).toMatchObject({
      active: false,
      revoked_at: expect.any(String),
    });
    expect(
      (await api.call('admin', { method: 'POST', url: `/api/v1/devices/AG-1/credentials/${id}/rotate` })).statusCode,
    ).toBe(409);
    expect(
      (await api.call('admin', { method: 'DELETE', url: `/api/v1/devices/AG-1/credentials/cr_nope` })).statusCode,
    ).toBe(404);
    expect(
      (
        await api.call('admin', {
          method: 'POST',
          url: `/api/v1/devices/NOPE/credentials`,
          payload: { type: 'agent_token' },
        })
      ).statusCode,
    ).toBe(404);
  });
});

describe('export', () => {
  it('exports CSV in the import format, and the export imports back', async () => {
    seedFleet(12);
    api.inventory.devices.update('DEV-0001', { labels: { note: '=HYPERLINK("x")', ring: '1' } });
    const csv = await api.call('viewer', { url: '/api/v1/devices/export?format=csv&kind=pc' });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="devices.csv"');
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'id,kind,model,customer,site,gateway,firmware,installed_on,lifecycle,label.note,label.ring,state,first_seen,last_seen,created_at,updated_at',
    );
    expect(lines).toHaveLength(5);
    expect(lines[1]).toContain(`"'=HYPERLINK(""x"")"`);

    const json = await api.call('viewer', { url: '/api/v1/devices/export?kind=pc' });
    expect(json.json()).toHaveLength(4);

    api.inventory.devices.update('DEV-0001', { firmware: '9.9' });
    const back = await api.call('admin', {
      method: 'POST',
      url: '/api/v1/devices/import?mode=upsert',
      payload: csv.body,
      headers: { 'content-type': 'text/csv' },
    });
    expect(back.json()).toEqual({ rows: 4, created: 0, updated: 4 });
    expect(api.inventory.devices.get('DEV-0001')).toMatchObject({
      firmware: '1.1',
      labels: { note: '=HYPERLINK("x")', ring: '1' },
    });

    const jsonBack = await api.call('admin', {
      method: 'POST',
      url: '/api/v1/devices/import?mode=upsert',
      payload: json.json(),
    });
    expect(jsonBack.statusCode, jsonBack.body).toBe(200);
  });
});

describe('API keys', () => {
  it('shows a key once, lists without it, and revokes at once', async () => {
    const created = await api.call('admin', {
      method: 'POST',
      url: '/api/v1/keys',
      payload: { name: 'grafana', role: 'viewer' },
    });
    expect(created.statusCode).toBe(201);
    const { id, key } = created.json();
    expect(key).toMatch(/^fpk_/);
    const listed = (await api.call('admin', { url: '/api/v1/keys' })).json().items;
    expect(listed.find((k: { id: string }) => k.id === id)).toMatchObject({
      name: 'grafana',
      role: 'viewer',
      active: true,
      created_by: expect.any(String),
    });
    expect(JSON.stringify(listed)).not.toContain(key);

    const withKey = (k: string) =>
      api.app.inject({ url: '/api/v1/devices', headers: { authorization: `Bearer ${k}` } });
    expect((await withKey(key)).statusCode).toBe(200);
    expect((await api.call('admin', { method: 'DELETE', url: `/api/v1/keys/${id}` })).statusCode).toBe(204);
    expect((await withKey(key)).statusCode).toBe(401);
    expect((await api.call('admin', { method: 'DELETE', url: `/api/v1/keys/${id}` })).statusCode).toBe(409);
  });

  it('will not revoke the last active admin key', async () => {
    const admins = api.inventory.apiKeys.list().filter((k) => k.role === 'admin' && k.revoked_at === null);
    expect(admins).toHaveLength(1);
    const res = await api.call('admin', { method: 'DELETE', url: `/api/v1/keys/${admins[0].id}` });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toMatch(/last active admin key/);
  });
});

describe('audit', () => {
  it('records who did what to which target, allowed or denied, and filters by time, actor and target', async () => {
    const before = new Date().toISOString();
    await api.call('admin', { method: 'POST', url: '/api/v1/devices', payload: { id: 'AUD-1', kind: 'pc' } });
    await api.call('operator', { method: 'PATCH', url: '/api/v1/devices/AUD-1', payload: { firmware: '1' } });
    await api.call('none', { method: 'DELETE', url: '/api/v1/devices/AUD-1' });
    await api.call('admin', { method: 'PATCH', url: '/api/v1/devices/AUD-1', payload: { firmware: 2 } });
    await api.call('admin', { method: 'PATCH', url: '/api/v1/devices/AUD-1', payload: { firmware: '2' } });
    const all = (await api.call('admin', { url: `/api/v1/audit?target=AUD-1&from=${before}` })).json().items;
    expect(
      all.map((e: { action: string; result: string; status: number; actor_name: string | null }) => [
        e.action,
        e.result,
        e.status,
        e.actor_name,
      ]),
    ).toEqual([
      ['devices.update', 'ok', 200, 'admin-key'],
      ['devices.update', 'failed', 400, 'admin-key'],
      ['devices.delete', 'denied', 401, null],
      ['devices.update', 'denied', 403, 'operator-key'],
      ['devices.create', 'ok', 201, 'admin-key'],
    ]);
    expect(all[0]).toMatchObject({
      method: 'PATCH',
      path: '/api/v1/devices/AUD-1',
      source: '127.0.0.1',
      role: 'admin',
      at: expect.any(String),
    });
    expect(all[0]).toMatchObject({ details: { fields: ['firmware'] } });

    const byActor = (await api.call('admin', { url: '/api/v1/audit?actor=operator-key' })).json().items;
    expect(byActor.every((e: { actor_name: string }) => e.actor_name === 'operator-key')).toBe(true);
    const future = (
      await api.call('admin', { url: `/api/v1/audit?from=${new Date(Date.now() + 60_000).toISOString()}` })
    ).json().items;
    expect(future).toEqual([]);
    expect((await api.call('admin', { url: '/api/v1/audit?from=yesterday' })).statusCode).toBe(400);
    // reading is not auditing
    expect(api.inventory.audit.list({ limit: 100, action: 'audit.list' }).items).toEqual([]);
  });
});

describe('limits and documents', () => {
  it('rate-limits per key with 429 and Retry-After, each key in its own bucket', async () => {
    await api.cleanup();
    api = await testApi({ limits: { rateLimit: { max: 3, timeWindowMs: 60_000 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.call('viewer', { url: '/api/v1/customers' })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await api.call('viewer', { url: '/api/v1/customers' });
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.json().error).toMatchObject({
      code: 'FP_RATE_LIMITED',
      details: { retry_after_s: expect.any(Number) },
    });
    expect((await api.call('operator', { url: '/api/v1/customers' })).statusCode).toBe(200);
    const denied = await api.call('viewer', { method: 'POST', url: '/api/v1/customers', payload: { company: 'X' } });
    expect(denied.statusCode).toBe(429);
    expect(api.inventory.audit.list({ limit: 1 }).items[0]).toMatchObject({
      action: 'customers.create',
      status: 429,
      result: 'denied',
    });
  });

  it('publishes OpenAPI with every route, its role and the error shape, and a docs page served locally', async () => {
    const doc = (await api.app.inject({ url: '/api/v1/openapi.json' })).json();
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/devices',
        '/api/v1/devices/{id}',
        '/api/v1/devices/import',
        '/api/v1/keys',
        '/api/v1/audit',
      ]),
    );
    const create = doc.paths['/api/v1/devices'].post;
    expect(create.security).toEqual([{ bearer: [] }]);
    expect(create.description).toMatch(/Requires role `admin`/);
    expect(create.requestBody.content['application/json'].schema.properties.kind.enum).toEqual([
      'terminal',
      'pc',
      'charger',
      'pos',
      'plug',
    ]);
    expect(create.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect(create.responses['4XX']).toBeDefined();
    expect(doc.paths['/api/v1/devices/import'].post.requestBody.content['text/csv']).toBeDefined();

    const page = await api.app.inject({ url: '/api/v1/docs' });
    expect(page.statusCode).toBe(200);
    const asset = /href="([^"]+swagger-ui\.css)"/.exec(page.body)![1];
    expect(asset).toBe('/api/v1/docs/static/swagger-ui.css');
    const css = await api.app.inject({ url: asset });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/text\/css/);
    expect((await api.app.inject({ url: '/api/v1/docs/json' })).json().paths['/api/v1/devices']).toBeDefined();
  });
});
