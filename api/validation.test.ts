import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApi, type TestApi } from './testing.ts';

let api: TestApi;
beforeAll(async () => {
  api = await testApi();
});
afterAll(() => api.cleanup());

const admin = (opts: Parameters<TestApi['call']>[1]) => api.call('admin', opts);

describe('bad input', () => {
  it('rejects unknown fields instead of dropping them, naming the field', async () => {
    const res = await admin({
      method: 'POST',
      url: '/api/v1/customers',
      payload: { company: 'X', contract: 'basic', colour: 'red' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        code: 'FP_VALIDATION',
        message: "colour: unknown field 'colour'",
        field: 'colour',
        details: { in: 'body' },
      },
    });
    expect(api.inventory.customers.list({ q: 'X', limit: 10 }).items).toHaveLength(0);

    const nested = await admin({
      method: 'PATCH',
      url: '/api/v1/devices/none',
      payload: { labels: { 'bad key': 'x' } },
    });
    expect(nested.json().error).toMatchObject({ code: 'FP_VALIDATION', field: 'labels' });
    expect(nested.json().error.message).toMatch(/invalid key 'bad key'/);
  });

  it('rejects wrong types instead of coercing them', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['/api/v1/sites', { customer: 'acme', name: 'S', latitude: '52.5' }, 'latitude'],
      ['/api/v1/sites', { customer: 'acme', name: 5 }, 'name'],
      ['/api/v1/customers', { company: true }, 'company'],
      ['/api/v1/customers', { company: 'C', contract: 'gold' }, 'contract'],
      ['/api/v1/devices', { id: 'D-1', kind: 'terminal', labels: { zone: 1 } }, 'labels.zone'],
      ['/api/v1/devices', { id: 'D-1', kind: 'terminal', installed_on: '2024-02-30' }, 'installed_on'],
      ['/api/v1/devices', { id: 'D-1', kind: 'toaster' }, 'kind'],
      ['/api/v1/devices', { id: 'has space', kind: 'pc' }, 'id'],
      ['/api/v1/devices', { kind: 'pc' }, 'id'],
      ['/api/v1/keys', { name: 'x', role: 'root' }, 'role'],
    ];
    for (const [url, payload, field] of cases) {
      const res = await admin({ method: 'POST', url, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().error, JSON.stringify(payload)).toMatchObject({ code: 'FP_VALIDATION', field });
    }
    expect(
      (await admin({ method: 'POST', url: '/api/v1/devices', payload: { id: 'D-1', kind: 'toaster' } })).json().error
        .message,
    ).toBe('kind: must be one of "terminal", "pc", "charger", "pos", "plug"');
    expect(api.inventory.devices.get('D-1')).toBeUndefined();
  });

  it('converts querystrings, and still refuses what does not fit', async () => {
    expect((await api.call('viewer', { url: '/api/v1/devices?limit=2' })).statusCode).toBe(200);
    for (const [qs, field] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['state=sleeping', 'state'],
      ['sort=colour', 'sort'],
      ['label=novalue', 'label[0]'],
      ['colour=red', 'colour'],
      ['cursor=garbage', 'cursor'],
    ] as const) {
      const res = await api.call('viewer', { url: `/api/v1/devices?${qs}` });
      expect(res.statusCode, qs).toBe(400);
      expect(res.json().error, qs).toMatchObject({ code: 'FP_VALIDATION', field });
    }
  });

  it('refuses a cursor from another sort order', async () => {
    for (let i = 0; i < 3; i++) api.inventory.devices.create({ id: `CUR-${i}`, kind: 'pc' });
    const first = (await api.call('viewer', { url: '/api/v1/devices?limit=1&sort=-id' })).json();
    expect(first.next_cursor).toEqual(expect.any(String));
    const res = await api.call('viewer', { url: `/api/v1/devices?limit=1&sort=kind&cursor=${first.next_cursor}` });
    expect(res.json().error).toMatchObject({ code: 'FP_VALIDATION', field: 'cursor' });
  });

  it('answers an oversized body with 413 before reading it all', async () => {
    const big = { company: 'x'.repeat(1024 * 1024) };
    const res = await admin({ method: 'POST', url: '/api/v1/customers', payload: big });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({ code: 'FP_PAYLOAD_TOO_LARGE', details: { limit_bytes: 1024 * 1024 } });
  });

  it('answers malformed JSON, an empty body and a foreign content type clearly', async () => {
    const bad = await admin({
      method: 'POST',
      url: '/api/v1/customers',
      payload: '{"company":',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('FP_BAD_JSON');
    const empty = await admin({
      method: 'POST',
      url: '/api/v1/customers',
      payload: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(empty.json().error.code).toBe('FP_BAD_JSON');
    const xml = await admin({
      method: 'POST',
      url: '/api/v1/customers',
      payload: '<customer/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(xml.statusCode).toBe(415);
    expect(xml.json().error.code).toBe('FP_UNSUPPORTED_MEDIA_TYPE');
    const csvElsewhere = await admin({
      method: 'POST',
      url: '/api/v1/customers',
      payload: 'company\nX',
      headers: { 'content-type': 'text/csv' },
    });
    expect(csvElsewhere.statusCode).toBe(400);
  });

  it('refuses to delete a customer that still has devices: 409, nothing deleted', async () => {
    api.inventory.devices.create({ id: 'KEEP-1', kind: 'terminal', site: 'acme-hamburg' });
    const res = await admin({ method: 'DELETE', url: '/api/v1/customers/acme' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'FP_CONFLICT', details: { customer: 'acme' } });
    expect(res.json().error.message).toMatch(/still has \d+ device/);
    expect(api.inventory.customers.get('acme')).toBeDefined();
    expect(api.inventory.sites.get('acme-hamburg')).toBeDefined();
    expect(api.inventory.devices.get('KEEP-1')?.customer).toBe('acme');
    const siteRes = await admin({ method: 'DELETE', url: '/api/v1/sites/acme-hamburg' });
    expect(siteRes.statusCode).toBe(409);
  });

  it('refuses a duplicate device id with 409', async () => {
    expect(
      (await admin({ method: 'POST', url: '/api/v1/devices', payload: { id: 'DUP-1', kind: 'pc' } })).statusCode,
    ).toBe(201);
    const res = await admin({ method: 'POST', url: '/api/v1/devices', payload: { id: 'DUP-1', kind: 'pc' } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'FP_CONFLICT', field: 'id' });
  });

  it('answers an unknown path with 404 for any caller, and an unknown id with FP_NOT_FOUND', async () => {
    for (const caller of ['none', 'viewer'] as const) {
      const res = await api.call(caller, { url: '/api/v1/nothing-here' });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('FP_NOT_FOUND');
    }
    const res = await api.call('viewer', { url: '/api/v1/devices/NOPE' });
    expect(res.json()).toEqual({
      error: { code: 'FP_NOT_FOUND', message: "device 'NOPE' does not exist", details: { device: 'NOPE' } },
    });
  });

  it('refuses a malformed Authorization header', async () => {
    const res = await api.app.inject({ url: '/api/v1/devices', headers: { authorization: 'Basic Zm9vOmJhcg==' } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/Bearer/);
  });
});

describe('bulk import', () => {
  it('reports every bad CSV row with row, line, field and message, and imports nothing', async () => {
    const csv = [
      'id,kind,site,label.zone',
      'IMP-1,terminal,acme-berlin,north',
      'IMP-2,toaster,acme-berlin,',
      '"IMP-3,terminal,acme-berlin,south',
      '',
    ].join('\n');
    const broken = [
      'id,kind,site,label.zone',
      'IMP-1,terminal,acme-berlin,north',
      'IMP-2,toaster,acme-berlin,',
      'IMP-3,terminal,acme-berlin',
      'IMP-1,pc,,',
      'IMP-5,pc,nowhere,',
      'IMP 6,pc,,',
      'IMP-7,pc,volt-lyon,a"b',
      'IMP-8,plug,,"quoted, fine"',
    ].join('\r\n');
    const res = await admin({
      method: 'POST',
      url: '/api/v1/devices/import',
      payload: broken,
      headers: { 'content-type': 'text/csv' },
    });
    expect(res.statusCode).toBe(422);
    const error = res.json().error;
    expect(error.code).toBe('FP_IMPORT_INVALID');
    expect(error.message).toBe('6 of 8 rows are not valid; nothing was imported');
    expect(error.details.errors).toEqual([
      { row: 2, line: 3, field: 'kind', message: 'must be one of "terminal", "pc", "charger", "pos", "plug"' },
      { row: 3, line: 4, field: 'row', message: 'has 3 fields, the header has 4' },
      { row: 4, field: 'id', message: "device 'IMP-1' appears again (first in row 1)" },
      { row: 5, field: 'site', message: "site 'nowhere' does not exist" },
      { row: 6, line: 7, field: 'id', message: expect.stringMatching(/must match pattern/) },
      { row: 7, line: 8, field: 'row', message: expect.stringMatching(/quote inside an unquoted field/) },
    ]);
    expect(api.inventory.devices.get('IMP-1')).toBeUndefined();
    expect(api.inventory.devices.get('IMP-8')).toBeUndefined();

    const unterminated = await admin({
      method: 'POST',
      url: '/api/v1/devices/import',
      payload: csv,
      headers: { 'content-type': 'text/csv' },
    });
    expect(unterminated.json().error.details.errors.at(-1)).toEqual({
      row: 3,
      line: 4,
      field: 'row',
      message: 'a quoted field is not closed',
    });
  });

  it('refuses a CSV whose header it cannot read', async () => {
    for (const [payload, message] of [
      ['id,kind,colour\nA,pc,red\n', /unknown column 'colour'/],
      ['id,id,kind\n', /appears twice/],
      ['kind\npc\n', /needs a 'id' column/],
      ['', /no header/],
    ] as const) {
      const res = await admin({
        method: 'POST',
        url: '/api/v1/devices/import',
        payload,
        headers: { 'content-type': 'text/csv' },
      });
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().error.field).toBe('header');
      expect(res.json().error.message).toMatch(message);
    }
  });

  it('reports duplicate ids against the inventory and inside a JSON import', async () => {
    api.inventory.devices.create({ id: 'EXISTS-1', kind: 'pc' });
    const res = await admin({
      method: 'POST',
      url: '/api/v1/devices/import',
      payload: [
        { id: 'EXISTS-1', kind: 'pc' },
        { id: 'J-1', kind: 'pc' },
        { id: 'J-1', kind: 'pc' },
        { id: 'J-2', kind: 'pc', extra: true },
        'not an object',
      ],
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.details.errors).toEqual([
      { row: 1, field: 'id', message: "device 'EXISTS-1' already exists" },
      { row: 3, field: 'id', message: "device 'J-1' appears again (first in row 2)" },
      { row: 4, field: 'extra', message: "unknown field 'extra'" },
      { row: 5, field: 'row', message: expect.any(String) },
    ]);
    const notArray = await admin({ method: 'POST', url: '/api/v1/devices/import', payload: { id: 'X', kind: 'pc' } });
    expect(notArray.statusCode).toBe(400);
  });

  it('takes 10,000 rows in one request, as JSON and as CSV, and refuses 10,001', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      id: `BULK-${String(i).padStart(5, '0')}`,
      kind: 'terminal',
      model: 'TC-200',
      site: i % 2 ? 'acme-berlin' : 'volt-lyon',
      firmware: '4.2.1',
      installed_on: '2024-03-01',
      labels: { batch: `b${i % 10}`, region: 'emea' },
    }));
    const json = await admin({ method: 'POST', url: '/api/v1/devices/import', payload: rows });
    expect(json.statusCode, json.body.slice(0, 300)).toBe(200);
    expect(json.json()).toEqual({ rows: 10_000, created: 10_000, updated: 0 });

    const header = 'id,kind,model,site,firmware,installed_on,label.batch,label.region';
    const csv = [
      header,
      ...rows.map((r) =>
        [
          r.id.replace('BULK', 'CSV'),
          r.kind,
          r.model,
          r.site,
          r.firmware,
          r.installed_on,
          r.labels.batch,
          r.labels.region,
        ].join(','),
      ),
    ].join('\n');
    const res = await admin({
      method: 'POST',
      url: '/api/v1/devices/import',
      payload: csv,
      headers: { 'content-type': 'text/csv' },
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.json().created).toBe(10_000);

    const tooMany = [header, ...Array.from({ length: 10_001 }, (_, i) => `X-${i},pc,,,,,,`)].join('\n');
    const refused = await admin({
      method: 'POST',
      url: '/api/v1/devices/import',
      payload: tooMany,
      headers: { 'content-type': 'text/csv' },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/at most 10000 rows/);
  });
});
