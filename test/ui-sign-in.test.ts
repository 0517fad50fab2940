import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from './helpers/serve-process.ts';

/**
 * How long a sign-in of the operator pages lasts, and who may reach them, against a real serve:
 * `ui.session_hours` of inactivity, the key's revocation, and `http.allow` (behind a trusted
 * proxy on 127.0.0.1, so that one test process can be both an allowed and a refused client).
 * Plain HTTP, no browser: what is checked is the server's answer.
 */
const ADMIN = 'ui-sign-in-admin-key-0123456789';
/** 7.2 s: short enough to wait out, long enough for a sign-in and a few requests on a loaded machine. */
const SESSION_HOURS = 0.002;
const IDLE_MS = SESSION_HOURS * 3_600_000;
/** What the proxy adds for a client in the NOC's network. */
const NOC = { 'x-forwarded-for': '10.1.2.3' };

let dir: string;
let serve: ServeProcess;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'fp-ui-sign-in-'));
  serve = await startServe({
    dir,
    config: {
      data_dir: path.join(dir, 'data'),
      http: { host: '127.0.0.1', port: 0, allow: ['10.0.0.0/8'], trust_proxy: ['127.0.0.1/32'] },
      ui: { session_hours: SESSION_HOURS },
    },
    env: { FLEETPULSE_ADMIN_KEY: ADMIN },
  });
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${serve.url}/api/v1${url}`, {
    method,
    headers: {
      ...NOC,
      authorization: `Bearer ${ADMIN}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const cookieOf = (res: Response, name: string) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith(`${name}=`));

/** The sign-in form as a browser posts it: its token cookie and field, then the key. */
async function signIn(key: string, headers: Record<string, string> = NOC): Promise<Response> {
  const form = await fetch(`${serve.url}/ui/sign-in`, { headers: NOC });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1];
  return fetch(`${serve.url}/ui/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...headers, cookie: cookieOf(form, 'fp_ui_form')!, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, key }).toString(),
  });
}

async function session(key: string): Promise<string> {
  const res = await signIn(key);
  expect(res.status).toBe(303);
  return cookieOf(res, 'fp_ui_session')!;
}

const incidents = (cookie: string, headers: Record<string, string> = NOC) =>
  fetch(`${serve.url}/ui/incidents`, { headers: { ...headers, cookie }, redirect: 'manual' });

describe('operator page sign-ins', () => {
  it('ends a session after ui.session_hours without a request', async () => {
    const cookie = await session(ADMIN);
    expect((await incidents(cookie)).status).toBe(200);
    // Idle from here on: the last request is done, so the session was last used before now.
    const lastUsed = Date.now();
    await new Promise((r) => setTimeout(r, lastUsed + IDLE_MS + 300 - Date.now()));
    const after = await incidents(cookie);
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toMatch(/^\/ui\/sign-in/);
  });

  it("ends a session when its key is revoked, at the session's next request", async () => {
    const created = (await api('POST', '/keys', { name: 'rita', role: 'operator' })).json;
    const cookie = await session(created.key);
    expect((await incidents(cookie)).status).toBe(200);
    expect((await api('DELETE', `/keys/${created.id}`)).status).toBe(204);
    const after = await incidents(cookie);
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toMatch(/^\/ui\/sign-in/);
  });

  it('refuses the pages to an address outside http.allow, even with a valid key or session', async () => {
    for (const route of ['/ui/sign-in', '/ui/assets/ui.css', '/UI/incidents']) {
      const res = await fetch(`${serve.url}${route}`, { redirect: 'manual' });
      expect(res.status, route).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code, route).toBe('FP_NETWORK_NOT_ALLOWED');
    }
    const refused = await signIn(ADMIN, {});
    expect(refused.status).toBe(403);
    expect(cookieOf(refused, 'fp_ui_session')).toBeUndefined();
    const cookie = await session(ADMIN);
    expect((await incidents(cookie, {})).status).toBe(403);
    expect((await incidents(cookie)).status).toBe(200);
  });
});
