import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RPCClient } from 'ocpp-rpc';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boot16 } from '../plugins/ocpp/testing.ts';
import { startPtyPair, startTerminal, type PtyPair, type SimulatedTerminal } from '../plugins/tc200/simulator.ts';
import { AgentProcess } from './helpers/agent-rig.ts';
import { useInfluxd } from './helpers/influxd.ts';
import { REPO_ROOT, startServe, type ServeProcess } from './helpers/serve-process.ts';

/**
 * The operator pages (/ui/) in real headless Chromium against a real serve process: sign-in,
 * an incident raised by the real alert webhook, a charger connecting unknown over OCPP, commands
 * through the command bus, timed sessions, and the roles and CSRF refusals. Each page is
 * screenshotted; with FLEETPULSE_UI_SCREENSHOTS=docs (`npm run docs:screenshots`) into docs/ui/,
 * which docs/ui.md shows, else into the test's temporary dir so a test run leaves the clone clean.
 */
const ADMIN = 'ui-test-admin-key-0123456789';
const WEBHOOK = 'ui-test-webhook-secret';
const influx = useInfluxd();

let dir: string;
let serve: ServeProcess;
let browser: Browser;
let operatorKey: string;
let viewerKey: string;
let database: string;
const chargers: RPCClient[] = [];
let agent: AgentProcess | undefined;
let pty: PtyPair | undefined;
let terminal: SimulatedTerminal | undefined;

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

async function signIn(key: string, javaScriptEnabled = true): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, javaScriptEnabled });
  const page = await context.newPage();
  await page.goto(`${serve.url}/ui/`);
  await page.getByLabel('Personal API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/ui\/incidents/);
  return page;
}

/** Waits for the page after a form post: the server's flash (kept in the session) says what was done. */
const flash = (page: Page, text: string) => page.getByRole('status').filter({ hasText: text }).waitFor();

const shots = () => (process.env.FLEETPULSE_UI_SCREENSHOTS === 'docs' ? path.join(REPO_ROOT, 'docs/ui') : dir);
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots(), `${name}.png`), fullPage: true });

async function audit(action: string): Promise<Array<{ actor_name: string | null; result: string; status: number }>> {
  return (await api('GET', `/audit?action=${action}`)).json.items;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'fp-ui-'));
  database = await influx.freshDatabase();
  serve = await startServe({
    dir,
    config: {
      data_dir: path.join(dir, 'data'),
      http: { host: '127.0.0.1', port: 0 },
      influx: { url: influx.url, database },
    },
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
  await agent?.kill();
  await terminal?.stop();
  await pty?.stop();
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

async function connectCharger(identity: string, password?: string): Promise<RPCClient> {
  const client = new RPCClient({
    endpoint: `${serve.url.replace(/^http/, 'ws')}/ocpp`,
    identity,
    ...(password && { password }),
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

    // What Grafana's "Incidents of this device" link opens.
    const ofDevice = await raise(
      'fp-ui-d',
      { alertname: 'DeviceOffline', severity: 'warning', customer: 'acme', device: 'T-UI-7' },
      'T-UI-7 offline',
    );
    await page.goto(`${serve.url}/ui/incidents?device=T-UI-7`);
    const ofDeviceRows = (await page.locator('tbody tr').allTextContents()).join('\n');
    expect(ofDeviceRows).toContain(`#${ofDevice}`);
    expect(ofDeviceRows).not.toContain(`#${warning}`);

    await page.goto(`${serve.url}/ui/incidents/${critical}`);
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await flash(page, 'Acknowledged.');
    expect(await page.locator('#incident-state').textContent()).toBe('acknowledged');
    await page.getByLabel('Comment').fill('on it, calling the store');
    await page.getByRole('button', { name: 'Add comment' }).click();
    await flash(page, 'Comment added.');
    await page.getByLabel('Resolution note').fill('terminal replugged');
    await page.getByRole('button', { name: 'Resolve' }).click();
    await flash(page, 'Resolved');
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
    await flash(admin, 'CP-UI-NEW approved.');
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
    await flash(admin, 'Command reset queued.');
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
    await flash(page, 'Session started on pc-ui-1.');
    const before = (await api('GET', '/sessions?state=active')).json.items[0];
    await page.getByLabel('Extend by (min)').fill('15');
    await page.getByRole('button', { name: 'Extend' }).click();
    await flash(page, 'Extended by 15 min.');
    const after = (await api('GET', `/sessions/${before.id}`)).json;
    expect(Date.parse(after.ends_at) - Date.parse(before.ends_at)).toBe(15 * 60_000);
    await shot(page, 'sessions');
    await page.context().close();
  });

  it('shows a real rollout by wave with its failure, and pauses, resumes and aborts it', async () => {
    const model = `${boot16.chargePointVendor} ${boot16.chargePointModel}`;
    const ids = ['CP-RO-A', 'CP-RO-B', 'CP-RO-C'];
    for (const id of ids)
      expect(
        (
          await api('POST', '/devices', {
            id,
            kind: 'charger',
            model,
            firmware: boot16.firmwareVersion,
            site: 'acme-berlin',
          })
        ).status,
      ).toBe(201);
    const [a, b, c] = await Promise.all(
      ids.map(async (id) =>
        connectCharger(id, (await api('POST', `/devices/${id}/credentials`, { type: 'ocpp_password' })).json.secret),
      ),
    );
    for (const cp of [a, b, c])
      expect(((await cp.call('BootNotification', boot16)) as { status: string }).status).toBe('Accepted');
    // The canary flashes and boots on the new version; in wave 2 one fails, one never reports back.
    a.handle('UpdateFirmware', (async () => {
      setImmediate(() => void a.call('BootNotification', { ...boot16, firmwareVersion: '9.0' }));
      return {};
    }) as never);
    b.handle('UpdateFirmware', (async () => {
      throw new Error('flash write error');
    }) as never);
    c.handle('UpdateFirmware', (async () => ({})) as never);
    const fw = await api('POST', '/firmware', {
      model,
      version: '9.0',
      url: 'https://fw.example.com/sim-22-9.0.bin',
      sha256: 'c'.repeat(64),
    });
    expect(fw.status).toBe(201);
    const created = await api('POST', '/rollouts', {
      firmware_id: fw.json.id,
      selector: { site: 'acme-berlin' },
      canary: { count: 1 },
      wave_size: 2,
      failure_threshold: 0.6,
    });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    await until(async () => {
      const states = (await api('GET', `/rollouts/${id}/devices`)).json.items.map((d: { state: string }) => d.state);
      return states.join() === 'done,failed,confirming';
    }, 'the canary to finish and wave 2 to have a failure');

    const page = await signIn(operatorKey);
    await page.goto(`${serve.url}/ui/rollouts`);
    await page.getByRole('link', { name: id.slice(0, 8) }).click();
    await page.waitForURL(new RegExp(`/ui/rollouts/${id}`));
    const cell = (wave: number, state: string) =>
      page.locator(`#waves tr[data-wave="${wave}"] td[data-state="${state}"]`).textContent();
    expect([await cell(1, 'done'), await cell(2, 'failed'), await cell(2, 'confirming')]).toEqual(['1', '1', '1']);
    expect(await page.locator('#failures tbody').textContent()).toMatch(/CP-RO-B[\s\S]*flash write error/);
    expect(await page.locator('#rollout-state').textContent()).toBe('running');

    await page.getByRole('button', { name: 'Pause' }).click();
    await flash(page, 'Pause: done.');
    expect(await page.locator('#rollout-state').textContent()).toBe('paused');
    expect((await api('GET', `/rollouts/${id}`)).json.status).toBe('paused');
    expect((await audit('rollouts.pause')).some((r) => r.actor_name === 'alice' && r.result === 'ok')).toBe(true);
    await shot(page, 'rollout');
    expect(await page.getByRole('button', { name: 'Pause' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Resume' }).click();
    await flash(page, 'Resume: done.');
    expect((await api('GET', `/rollouts/${id}`)).json.status).toBe('running');
    await page.getByRole('button', { name: 'Abort' }).click();
    await flash(page, 'Abort: done.');
    expect((await api('GET', `/rollouts/${id}`)).json.status).toBe('aborted');
    expect(await page.locator('main button').count()).toBe(0);
    await page.goto(`${serve.url}/ui/rollouts`);
    await shot(page, 'rollouts');
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

  it('works without JavaScript: a post answers with the page and a flash from the session, shown once, not forgeable by a link', async () => {
    const id = await raise(
      'fp-ui-nojs',
      { alertname: 'DeviceOffline', severity: 'warning', customer: 'acme' },
      'no js',
    );
    const page = await signIn(operatorKey, false);
    await page.goto(`${serve.url}/ui/incidents/${id}`);
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await flash(page, 'Acknowledged.');
    expect(page.url()).toBe(`${serve.url}/ui/incidents/${id}`);
    expect((await api('GET', `/incidents/${id}`)).json.status).toBe('acknowledged');
    await page.reload();
    expect(await page.getByRole('status').count()).toBe(0);
    await page.goto(`${serve.url}/ui/incidents/${id}?done=All+incidents+resolved`);
    expect(await page.getByRole('status').count()).toBe(0);
    await page.context().close();
  });

  it('runs get_diagnostics on a simulated TC-200 behind a real agent, and shows its result', async () => {
    const PC = 'ui-store-pc';
    const TERMINAL = 'TC2-UI-0001';
    await api('POST', '/devices', { id: PC, kind: 'pc', site: 'acme-berlin' });
    const token = (await api('POST', `/devices/${PC}/credentials`, { type: 'agent_token' })).json.secret;
    expect(
      (await api('POST', '/devices', { id: TERMINAL, kind: 'terminal', gateway: PC, site: 'acme-berlin' })).status,
    ).toBe(201);
    pty = await startPtyPair(dir, 'tc200');
    terminal = startTerminal({ path: pty.device, serial: TERMINAL });
    agent = new AgentProcess(dir, {
      agent: { id: PC, server: `${serve.url.replace(/^http/, 'ws')}/agent/`, token },
      data_dir: path.join(dir, 'agent'),
      outbox: { flush_interval_ms: 100 },
      uplink: { reconnect_initial_ms: 200, reconnect_max_ms: 500, announce_interval_s: 1 },
      plugins: {
        host: { interval_s: 5, reboot_command: ['true'], lock_command: ['true'], warn_command: ['true'] },
        tc200: { ports: [{ path: pty.host }], status_interval_s: 1, heartbeat_interval_s: 1 },
      },
    });
    await until(
      async () => (await api('GET', `/devices/${TERMINAL}`)).json.state === 'online',
      `${TERMINAL} online behind the agent`,
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent!.output}`);
    });

    const page = await signIn(operatorKey);
    await page.goto(`${serve.url}/ui/devices/${TERMINAL}`);
    expect(await page.locator('dl.facts').textContent()).toContain(PC);
    const form = page.locator('form.command', { has: page.getByRole('heading', { name: 'get_diagnostics' }) });
    await form.getByRole('button', { name: 'Run get_diagnostics' }).click();
    await flash(page, 'Command get_diagnostics queued.');
    // The page polls the commands table itself (htmx) while the command runs: no reload here.
    const row = page.locator('tr[data-command="get_diagnostics"]').first();
    await row.locator('.status', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    expect(await row.locator('.result').textContent()).toContain('self-test passed');
    await shot(page, 'diagnostics');
    await page.context().close();
  });

  it('answers a device that does not exist with an HTML page and 404', async () => {
    const page = await signIn(viewerKey);
    const res = await page.goto(`${serve.url}/ui/devices/no-such-device`);
    expect(res!.status()).toBe(404);
    expect(res!.headers()['content-type']).toMatch(/^text\/html/);
    expect(await page.getByRole('status').textContent()).toMatch(/no-such-device|not found/i);
    await page.context().close();
  });

  it("shows a customer's monthly uptime report and downloads the API's own CSV", async () => {
    // Ten hours of October 2026 as the liveness rollup writes them; one hour offline: 90 %.
    const OCT = Date.parse('2026-10-01T00:00:00Z');
    const lines = Array.from({ length: 10 }, (_, h) => {
      const off = h === 3 ? 3600 : 0;
      return `device_availability,customer=acme,device=T-REP-1,kind=terminal,site=acme-berlin online_s=${3600 - off}i,error_s=0i,offline_s=${off}i,maintenance_s=0i ${OCT + h * 3_600_000}`;
    });
    const write = await fetch(`${influx.url}/write?db=${database}&precision=ms`, {
      method: 'POST',
      body: lines.join('\n'),
    });
    expect(write.status).toBe(204);

    const page = await signIn(viewerKey);
    await page.getByRole('link', { name: 'Reports' }).click();
    await page.getByLabel('Month').fill('2026-10');
    await page.getByLabel('Customer').fill('acme');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/month=2026-10/);
    expect(await page.locator('[data-customer="acme"] .uptime').textContent()).toBe('90.00 %');
    expect(await page.locator('#worst').textContent()).toContain('T-REP-1');
    await shot(page, 'report');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('uptime-2026-10-acme.csv');
    const file = readFileSync(await download.path(), 'utf8');
    const fromApi = await fetch(`${serve.url}/api/v1/reports/uptime?month=2026-10&customer=acme&format=csv`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(file).toBe(await fromApi.text());
    expect(file).toContain('acme,,1,90');
    await page.context().close();
  });
});
