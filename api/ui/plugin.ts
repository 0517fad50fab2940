import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyInfo } from '../../collector/inventory/index.ts';
import { AuthFailureLimiter } from '../auth-failures.ts';
import { ApiClient } from './api-client.ts';
import { Html, html } from './html.ts';
import { page } from './layout.ts';
import { sameToken, type UiSession } from './sessions.ts';
import signIn from './pages/sign-in.ts';
import incidents from './pages/incidents.ts';
import devices from './pages/devices.ts';
import pending from './pages/pending.ts';
import sessions from './pages/sessions.ts';

import { cookie, SESSION_COOKIE, type UiContext, type UiOptions, type UiRequest } from './context.ts';

export { SESSION_COOKIE, type UiOptions };

const require = createRequire(import.meta.url);
const ASSETS: Record<string, { type: string; body: Buffer }> = {
  'ui.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('./ui.css', import.meta.url)) },
  'htmx.min.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(require.resolve('htmx.org/dist/htmx.min.js')),
  },
};

/**
 * The operator pages under `/ui/`: server-rendered HTML whose every form posts without
 * JavaScript. Sign-in exchanges an API key for a session cookie; every read and action then goes
 * through the API (api-client.ts) as that key, so roles and audit are the API's.
 */
export const uiPlugin: FastifyPluginAsync<UiOptions> = async (app, options) => {
  const client = new ApiClient(options.server, options.apiPrefix);
  const limiter = new AuthFailureLimiter(options.authFailures.max, options.authFailures.timeWindowMs);

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addHook('onSend', async (_request, reply) => {
    // Pages name no other origin: no frames, no foreign scripts, no caching of what a key saw.
    void reply.header('content-security-policy', "default-src 'self'; frame-ancestors 'none'; form-action 'self'");
    void reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
  });

  app.get('/assets/:name', async (request, reply) => {
    const asset = ASSETS[(request.params as { name: string }).name];
    if (!asset) return reply.code(404).type('text/plain').send('not found');
    return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(asset.body);
  });
  app.get('/', async (_request, reply) => reply.redirect('/ui/incidents', 303));

  const audit: UiContext['audit'] = (request, key, action, status, target = null) => {
    try {
      options.inventory.audit.record({
        actor: key?.id ?? null,
        actor_name: key?.name ?? null,
        role: key?.role ?? null,
        action,
        target,
        method: request.method,
        path: request.url.split('?')[0],
        status,
        result: status < 400 ? 'ok' : status === 401 || status === 403 || status === 429 ? 'denied' : 'failed',
        source: request.ip,
        details: null,
      });
    } catch (err) {
      request.log.error({ err, action }, 'could not write the audit row');
    }
  };

  const signedIn = (request: FastifyRequest): { token: string; session: UiSession; key: ApiKeyInfo } | null => {
    const token = cookie(request, SESSION_COOKIE);
    const found = token ? options.sessions.use(token) : null;
    return token && found ? { token, ...found } : null;
  };

  const uiRequest = (request: FastifyRequest, s: { token: string; session: UiSession; key: ApiKeyInfo }): UiRequest => {
    const viewer = { name: s.key.name, role: s.key.role, csrf: s.session.csrf };
    const done = (request.query as { done?: string }).done;
    return {
      viewer,
      key: s.key,
      can: (method, url) => options.access.allows(s.key.role, method, `${options.apiPrefix}${url}`),
      api: (method, path, body) => client.call(request, s.token, method, path, body),
      render: (title, body) => page(title, viewer, body, done ? { ok: true, text: done } : undefined),
    };
  };

  const ctx: UiContext = {
    options,
    audit,
    get(path, handler) {
      app.get(path, async (request, reply) => {
        const s = signedIn(request);
        if (!s) return reply.redirect(`/ui/sign-in?next=${encodeURIComponent(request.url)}`, 303);
        const out = await handler(uiRequest(request, s), request, reply);
        return out instanceof Html ? reply.type('text/html; charset=utf-8').send(out.text) : out;
      });
    },
    post(path, handler) {
      app.post(path, async (request, reply) => {
        const s = signedIn(request);
        const form = (request.body ?? {}) as Record<string, string>;
        if (!s) return reply.redirect('/ui/sign-in', 303);
        if (!sameToken(s.session.csrf, form._csrf)) {
          audit(request, s.key, 'ui.csrf_refused', 403);
          return refusal(
            reply,
            403,
            'This form is out of date or did not come from these pages (CSRF token missing or wrong).',
            s,
          );
        }
        const ui = uiRequest(request, s);
        const { answer, redirect, done } = await handler(ui, form, request);
        if (answer.status >= 400)
          return refusal(reply, answer.status, answer.error ?? `refused (${answer.status})`, s, redirect);
        return reply.redirect(`${redirect}${redirect.includes('?') ? '&' : '?'}done=${encodeURIComponent(done)}`, 303);
      });
    },
  };

  function refusal(
    reply: FastifyReply,
    status: number,
    text: string,
    s: { session: UiSession; key: ApiKeyInfo },
    back?: string,
  ): FastifyReply {
    const viewer = { name: s.key.name, role: s.key.role, csrf: s.session.csrf };
    const body = html`${back ? html`<p><a href="${back}">Back</a></p>` : null}`;
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(String(page('Refused', viewer, body, { ok: false, text })));
  }

  signIn(app, ctx, limiter);
  incidents(ctx);
  devices(ctx);
  pending(ctx);
  sessions(ctx);
};
