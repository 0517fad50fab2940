import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RPCClient } from 'ocpp-rpc';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boot16 } from '../plugins/ocpp/testing.ts';
import { REPO_ROOT, startServe, type ServeProcess } from './helpers/serve-process.ts';

/**
 * The operator pages (/ui/) in real headless Chromium against a real serve process: sign-in,
 * an incident raised by the real alert webhook, a charger connecting unknown over OCPP, commands
 * through the command bus, timed sessions, and the roles and CSRF refusals. Each page's
 * screenshot goes to docs/ui/ (docs/ui.md shows them).
 */
const ADMIN = 'ui-test-admin-key-0123456789';
const WEBHOOK = 'ui-test-webhook-secret';
const SHOTS = path.join(REPO_ROOT, 'docs/ui');

let dir: string;
let serve: ServeProcess;
let browser: Browser;
let operatorKey: string;
let viewerKey: string;
const chargers: RPCClient[] = [];

async function api(method: string, url: string, body?: unknown, key = ADMIN): Promise<{ status: number; json: any }> {
  const res = await fetch(`${serve.url}/api/v1${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function until<T>(probe: () => Promise<T | undefined | false>, what: string, limitMs = 30_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function signIn(key: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${serve.url}/ui/`);
  await page.getByLabel('Personal API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/ui\/incidents/);
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

async function audit(action: string): Promise<Array<{ actor_name: string | null; result: string; status: number }>> {
  return (await api('GET', `/audit?action=${action}`)).json.items;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'fp-ui-'));
  serve = await startServe({
    dir,
    config: { data_dir: path.join(dir, 'data'), http: { host: '127.0.0.1', port: 0 } },
    env: { FLEETPULSE_ADMIN_KEY: ADMIN, FLEETPULSE_INCIDENT_WEBHOOK_SECRET: WEBHOOK },
  });
  operatorKey = (await api('POST', '/keys', { name: 'alice', role: 'operator' })).json.key;
  viewerKey = (await api('POST', '/keys', { name: 'victor', role: 'viewer' })).json.key;
  await api('POST', '/customers', { id: 'acme', company: 'ACME Stores' });
  await api('POST', '/sites', { id: 'acme-berlin', customer: 'acme', name: 'Berlin' });
  await api('POST', '/sites', { id: 'acme-paris', customer: 'acme', name: 'Paris' });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await Promise.all(chargers.map((c) => c.close({ force: true }).catch(() => {})));
  await browser?.close();
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function raise(fingerprint: string, labels: Record<string, string>, summary: string): Promise<number> {
  const res = await fetch(`${serve.url}/api/v1/incidents/webhook`, {
    method: 'POST',
    headers: { authorization: `Bearer ${WEBHOOK}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      status: 'firing',
      alerts: [{ status: 'firing', labels, annotations: { summary }, startsAt: new Date().toISOString(), fingerprint }],
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { incidents: number[] }).incidents[0];
}

async function connectCharger(identity: string): Promise<RPCClient> {
  const client = new RPCClient({
    endpoint: `${serve.url.replace(/^http/, 'ws')}/ocpp`,
    identity,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
  } as never);
  chargers.push(client);
  await client.connect();
  return client;
}

describe('operator pages', () => {
  it('signs in with a key, and refuses a wrong key, audited', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${serve.url}/ui/incidents`);
    await shot(page, 'sign-in');
    await page.getByLabel('Personal API key').fill('fpk_aaaaaaaa_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('status').textContent()).toContain('not valid');
    expect((await audit('ui.sign_in')).some((r) => r.result === 'denied')).toBe(true);

    await page.getByLabel('Personal API key').fill(operatorKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/ui\/incidents/);
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'fp_ui_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ui' });
    expect(cookie.value).not.toContain(operatorKey);
    expect((await audit('ui.sign_in')).some((r) => r.actor_name === 'alice' && r.result === 'ok')).toBe(true);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/ui\/sign-in/);
    // The old cookie is dead on the server, not only deleted in this browser.
    const res = await fetch(`${serve.url}/ui/incidents`, {
      headers: { cookie: `fp_ui_session=${cookie.value}` },
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    await context.close();
  });

  it('lists incidents from the real alert webhook, most severe before newest, filters by site, acknowledges and resolves it', async () => {
    const critical = await raise(
      'fp-ui-c',
      { alertname: 'DeviceOffline', severity: 'critical', customer: 'acme', site: 'acme-berlin' },
      'Berlin terminal offline',
    );
    const warning = await raise(
      'fp-ui-w',
      { alertname: 'DeviceOffline', severity: 'warning', customer: 'acme', site: 'acme-paris' },
      'Paris terminal offline',
    );
    const page = await signIn(operatorKey);
    const rows = await page.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(rows.findIndex((r) => r.includes(`#${critical}`))).toBeLessThan(
      rows.findIndex((r) => r.includes(`#${warning}`)),
    );
    await shot(page, 'incidents');

    await page.getByLabel('Site').fill('acme-paris');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/site=acme-paris/);
    const filtered = await page.locator('tbody tr').allTextContents();
    expect(filtered.join('\n')).toContain(`#${warning}`);
    expect(filtered.join('\n')).not.toContain(`#${critical}`);

    await page.goto(`${serve.url}/ui/incidents/${critical}`);
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.waitForURL(/done=/);
    expect(await page.locator('#incident-state').textContent()).toBe('acknowledged');
    await page.getByLabel('Comment').fill('on it, calling the store');
    await page.getByRole('button', { name: 'Add comment' }).click();
    await page.waitForURL(/done=Comment/);
    await page.getByLabel('Resolution note').fill('terminal replugged');
    await page.getByRole('button', { name: 'Resolve' }).click();
    await page.waitForURL(/done=Resolved/);
    expect(await page.locator('#incident-state').textContent()).toBe('resolved');
    expect(await page.locator('.timeline').textContent()).toContain('on it, calling the store');
    await shot(page, 'incident');

    const incident = (await api('GET', `/incidents/${critical}`)).json;
    expect(incident).toMatchObject({ status: 'resolved', acked_by: 'alice', resolved_by: 'alice' });
    // Audited by the API itself, under the key's name.
    expect((await audit('incidents.ack')).some((r) => r.actor_name === 'alice' && r.result === 'ok')).toBe(true);
    await page.context().close();
  });

  it('approves a pending charger that connected unknown, showing what it sent, then reboots it from its page', async () => {
    const cp = await connectCharger('CP-UI-NEW');
    expect(
      ((await cp.call('BootNotification', { ...boot16, chargePointSerialNumber: 'SN-UI-9' })) as { status: string })
        .status,
    ).toBe('Pending');
    const page = await signIn(operatorKey);
    // An operator may not approve (admin only, as the API says): no button.
    await page.goto(`${serve.url}/ui/pending`);
    expect(await page.locator('tbody').textContent()).toContain('SN-UI-9');
    expect(await page.getByRole('button', { name: 'Approve CP-UI-NEW' }).count()).toBe(0);
    await page.context().close();

    const admin = await signIn(ADMIN);
    await admin.goto(`${serve.url}/ui/pending`);
    await shot(admin, 'pending');
    await admin.getByRole('button', { name: 'Approve CP-UI-NEW' }).click();
    await admin.waitForURL(/done=/);
    expect((await api('GET', '/devices/CP-UI-NEW')).json.lifecycle).toBe('active');

    // Approved: the charger boots again and is accepted; a reset from its page reaches it.
    expect(((await cp.call('BootNotification', boot16)) as { status: string }).status).toBe('Accepted');
    const resets: unknown[] = [];
    cp.handle(
      'Reset',
      (async ({ params }: { params: unknown }) => (resets.push(params), { status: 'Accepted' })) as never,
    );
    await admin.goto(`${serve.url}/ui/devices/CP-UI-NEW`);
    const form = admin.locator('form.command', { has: admin.getByRole('heading', { name: 'reset' }) });
    await form.getByLabel('type').selectOption('soft');
    await form.getByRole('button', { name: 'Run reset' }).click();
    await admin.waitForURL(/done=/);
    await until(async () => {
      await admin.reload();
      return (await admin.locator('tr[data-command="reset"] .status').first().textContent()) === 'succeeded';
    }, 'the reset to succeed');
    expect(resets).toEqual([{ type: 'Soft' }]);
    await shot(admin, 'device');
    await admin.context().close();
  });

  it('starts and extends a timed session', async () => {
    await api('POST', '/devices', { id: 'pc-ui-1', kind: 'pc', site: 'acme-berlin' });
    const page = await signIn(operatorKey);
    await page.goto(`${serve.url}/ui/sessions`);
    await page.getByLabel('Station (device id)').fill('pc-ui-1');
    await page.getByLabel('Minutes').fill('30');
    await page.getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/done=/);
    const before = (await api('GET', '/sessions?state=active')).json.items[0];
    await page.getByLabel('Extend by (min)').fill('15');
    await page.getByRole('button', { name: 'Extend' }).click();
    await page.waitForURL(/done=Extended/);
    const after = (await api('GET', `/sessions/${before.id}`)).json;
    expect(Date.parse(after.ends_at) - Date.parse(before.ends_at)).toBe(15 * 60_000);
    await shot(page, 'sessions');
    await page.context().close();
  });

  it('shows a viewer no action buttons; a forged post is refused 403 by the API rules and audited', async () => {
    const id = await raise(
      'fp-ui-v',
      { alertname: 'DeviceOffline', severity: 'warning', customer: 'acme' },
      'for the viewer',
    );
    const page = await signIn(viewerKey);
    await page.goto(`${serve.url}/ui/incidents/${id}`);
    expect(await page.locator('main button').count()).toBe(0);
    await page.goto(`${serve.url}/ui/sessions`);
    expect(await page.locator('main button').count()).toBe(0);

    // The viewer's own valid form token, on a form the page did not offer.
    const csrf = await page.locator('header input[name=_csrf]').getAttribute('value');
    const status = await page.evaluate(
      async ([url, token]) => {
        const r = await fetch(url, { method: 'POST', body: new URLSearchParams({ _csrf: token }), redirect: 'manual' });
        return r.status;
      },
      [`/ui/incidents/${id}/ack`, csrf!] as const,
    );
    expect(status).toBe(403);
    expect((await api('GET', `/incidents/${id}`)).json.status).toBe('open');
    expect((await audit('incidents.ack')).some((r) => r.actor_name === 'victor' && r.result === 'denied')).toBe(true);
    await page.context().close();
  });

  it('refuses a post without the CSRF token, audited', async () => {
    const id = await raise(
      'fp-ui-x',
      { alertname: 'DeviceOffline', severity: 'warning', customer: 'acme' },
      'csrf target',
    );
    const page = await signIn(operatorKey);
    const status = await page.evaluate(
      async (url) => (await fetch(url, { method: 'POST', body: new URLSearchParams({}) })).status,
      `/ui/incidents/${id}/ack`,
    );
    expect(status).toBe(403);
    expect((await api('GET', `/incidents/${id}`)).json.status).toBe('open');
    expect((await audit('ui.csrf_refused')).some((r) => r.actor_name === 'alice' && r.result === 'denied')).toBe(true);
    await page.context().close();
  });
});
