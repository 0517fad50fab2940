import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTable } from '../api/access-table.ts';
import { apiPlugin } from '../api/plugin.ts';
import { uiPlugin } from '../api/ui/plugin.ts';
import { escape } from '../api/ui/html.ts';
import { UiSessions } from '../api/ui/sessions.ts';
import { CommandBus } from '../collector/commands/command-bus.ts';
import { tempInventory } from '../collector/inventory/testing.ts';
import { Operations } from '../collector/operations/operations.ts';

const SECRET = 'ui-incident-pages-webhook-secret';

/**
 * The incident list page over more incidents than one page holds: the API and /ui/ on one Fastify
 * server as serve mounts them, a real inventory file, incidents from the real webhook. The page
 * shows 50, most severe first, and links the next 50 in the same order.
 */
describe('incident list page', () => {
  let app: FastifyInstance;
  let cleanup: () => void;
  let cookie: string;
  let key: string;

  beforeAll(async () => {
    const f = tempInventory();
    cleanup = f.cleanup;
    const inventory = f.inventory;
    const operations = new Operations({
      inventory,
      bus: new CommandBus(),
      plugins: [],
      emit: () => {},
      log: pino({ level: 'silent' }),
      options: { webhookSecret: SECRET },
    });
    const access = new AccessTable();
    const sessions = new UiSessions(inventory.apiKeys, 3_600_000);
    const authFailures = { max: 1000, timeWindowMs: 60_000 };
    app = Fastify({ logger: false });
    await app.register(apiPlugin, { prefix: '/api/v1', inventory, kinds: ['widget'], operations, access, sessions });
    await app.register(uiPlugin, {
      prefix: '/ui',
      server: app,
      apiPrefix: '/api/v1',
      inventory,
      operations,
      sessions,
      access,
      authFailures,
    });
    await app.ready();
    const created = inventory.apiKeys.create({ name: 'alice', role: 'viewer' });
    key = created.key;
    cookie = `fp_ui_session=${sessions.open(inventory.apiKeys.get(created.id)!).token}`;
    // 55 incidents, one critical in every five, each started a minute after the one before.
    const alerts = Array.from({ length: 55 }, (_, i) => ({
      status: 'firing',
      labels: { alertname: `rule-${i}`, severity: i % 5 === 0 ? 'critical' : 'warning' },
      startsAt: new Date(Date.UTC(2026, 10, 2, 0, i)).toISOString(),
      fingerprint: `fp-${i}`,
    }));
    const hook = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents/webhook',
      headers: { authorization: `Bearer ${SECRET}` },
      payload: { alerts },
    });
    expect(hook.statusCode).toBe(200);
  });
  afterAll(async () => {
    await app?.close();
    cleanup?.();
  });

  const open = async (url: string) => {
    const res = await app.inject({ url, headers: { cookie } });
    expect(res.statusCode).toBe(200);
    return {
      rules: [...res.body.matchAll(/<a href="\/ui\/incidents\/\d+">#\d+ (rule-\d+)<\/a>/g)].map((m) => m[1]),
      next: /<a href="([^"]+)" rel="next">/.exec(res.body)?.[1]?.replaceAll('&#38;', '&'),
    };
  };

  it('shows 50, most severe then newest first, and links the rest in the same order', async () => {
    const first = await open('/ui/incidents');
    const second = await open(first.next!);
    const critical = Array.from({ length: 11 }, (_, n) => `rule-${50 - n * 5}`);
    const warning = Array.from({ length: 55 }, (_, i) => 54 - i)
      .filter((i) => i % 5 !== 0)
      .map((i) => `rule-${i}`);
    expect(first.rules).toEqual([...critical, ...warning].slice(0, 50));
    expect(second.rules).toEqual([...critical, ...warning].slice(50));
    expect(second.next).toBeUndefined();
    expect(first.next).toMatch(/^\/ui\/incidents\?state=unresolved&cursor=\d+$/);
  });

  it('read in-process, refuses a bad query as the API does, with its message', async () => {
    for (const [query, field] of [
      ['cursor=abc', 'cursor'],
      ['cursor=999999', 'cursor'],
      [`customer=${'c'.repeat(65)}`, 'customer'],
    ] as const) {
      const api = await app.inject({
        url: `/api/v1/incidents?status=unresolved&sort=severity&limit=50&${query}`,
        headers: { authorization: `Bearer ${key}` },
      });
      expect(api.statusCode).toBe(400);
      const message = api.json<{ error: { message: string; field: string } }>().error;
      expect(message.field).toBe(field);
      const page = await app.inject({ url: `/ui/incidents?${query}`, headers: { cookie } });
      expect(page.body).toContain(`<p class="error" role="alert">${escape(message.message)}</p>`);
      expect(page.body).toContain('<p>No incidents.</p>');
    }
  });
});
