import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthFailureLimiter } from '../../auth-failures.ts';
import { html } from '../html.ts';
import { page } from '../layout.ts';
import { cookie, SESSION_COOKIE, type UiContext } from '../context.ts';
import { sameToken } from '../sessions.ts';

/** The sign-in form's token, before there is a session: a cookie the form must repeat. */
const FORM_COOKIE = 'fp_ui_form';

/**
 * Sign-in with a personal API key, once: the key is checked as the API checks it (its failures
 * counted per address), and a session cookie replaces it. Sign-out ends the session.
 */
export default function signIn(app: FastifyInstance, ctx: UiContext, limiter: AuthFailureLimiter): void {
  const { sessions, inventory } = ctx.options;

  app.get('/sign-in', async (request, reply) => form(request, reply, 200));

  app.post('/sign-in', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, string>;
    const expected = cookie(request, FORM_COOKIE);
    if (!expected || !sameToken(expected, body._csrf)) {
      ctx.audit(request, null, 'ui.csrf_refused', 403);
      return form(request, reply, 403, 'The sign-in form was out of date: try again.');
    }
    const retryAfterS = limiter.blockedFor(request.ip);
    if (retryAfterS > 0) {
      ctx.audit(request, null, 'ui.sign_in', 429);
      return form(request, reply, 429, `Too many failed sign-ins from this address; retry in ${retryAfterS} s.`);
    }
    const key = inventory.apiKeys.verify((body.key ?? '').trim());
    if (!key) {
      limiter.failed(request.ip);
      ctx.audit(request, null, 'ui.sign_in', 401);
      return form(request, reply, 401, 'That API key is not valid or has been revoked.');
    }
    const { token } = sessions.open(key);
    ctx.audit(request, key, 'ui.sign_in', 303, key.id);
    const next = typeof body.next === 'string' && /^\/ui\/[^/]/.test(body.next) ? body.next : '/ui/incidents';
    return reply.header('set-cookie', cookieHeader(request, SESSION_COOKIE, token)).redirect(next, 303);
  });

  app.post('/sign-out', async (request, reply) => {
    const token = cookie(request, SESSION_COOKIE);
    const found = token ? sessions.use(token) : null;
    const body = (request.body ?? {}) as Record<string, string>;
    if (found && !sameToken(found.session.csrf, body._csrf)) {
      ctx.audit(request, found.key, 'ui.csrf_refused', 403);
      return reply.code(403).type('text/plain').send('CSRF token missing or wrong');
    }
    if (token && found) {
      sessions.close(token);
      ctx.audit(request, found.key, 'ui.sign_out', 303, found.key.id);
    }
    return reply.header('set-cookie', cookieHeader(request, SESSION_COOKIE, '', 0)).redirect('/ui/sign-in', 303);
  });
}

function form(request: FastifyRequest, reply: FastifyReply, status: number, error?: string): FastifyReply {
  const token = randomBytes(24).toString('base64url');
  const next = (request.query as { next?: string }).next ?? (request.body as { next?: string } | undefined)?.next ?? '';
  const body = html`<form method="post" action="/ui/sign-in" class="card">
    <input type="hidden" name="_csrf" value="${token}" />
    <input type="hidden" name="next" value="${next}" />
    <label for="key">Personal API key</label>
    <input id="key" name="key" type="password" autocomplete="current-password" required autofocus />
    <p class="hint">
      Made with <code>fleetpulse keys create --name you --role operator</code>. It is exchanged once for a session
      cookie and not kept in the browser.
    </p>
    <button type="submit">Sign in</button>
  </form>`;
  return reply
    .code(status)
    .header('set-cookie', cookieHeader(request, FORM_COOKIE, token))
    .type('text/html; charset=utf-8')
    .send(String(page('Sign in', null, body, error ? { ok: false, text: error } : undefined)));
}

/** HttpOnly, SameSite=Strict, Path=/ui, and Secure when the request came over TLS. */
function cookieHeader(request: FastifyRequest, name: string, value: string, maxAgeS?: number): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/ui', 'HttpOnly', 'SameSite=Strict'];
  if (request.protocol === 'https') parts.push('Secure');
  if (maxAgeS !== undefined) parts.push(`Max-Age=${maxAgeS}`);
  return parts.join('; ');
}
