import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build } from '../api/app.ts';
import { CommandBus } from '../collector/commands/command-bus.ts';
import type { Inventory } from '../collector/inventory/index.ts';
import { tempInventory } from '../collector/inventory/testing.ts';
import { Operations } from '../collector/operations/operations.ts';

const SECRET = 'grafana-shared-secret-order-test';

/**
 * The incident list most severe first, then newest started, paged by cursor: the order the
 * operator page shows, made by the inventory (SQL), not by whoever reads the list.
 */
describe('incidents by severity', () => {
  let app: FastifyInstance;
  let inventory: Inventory;
  let cleanup: () => void;
  let key: string;
  /** Incident id by the alert's name. */
  const ids: Record<string, number> = {};

  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${key}` } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: Array<{ id: number }>; next_cursor: string | null }>();
  };
  const names = (items: Array<{ id: number }>) => items.map((i) => Object.keys(ids).find((name) => ids[name] === i.id));

  beforeAll(async () => {
    const f = tempInventory();
    inventory = f.inventory;
    cleanup = f.cleanup;
    key = inventory.apiKeys.create({ name: 'support-key', role: 'support' }).key;
    const operations = new Operations({
      inventory,
      bus: new CommandBus(),
      plugins: [],
      emit: () => {},
      log: pino({ level: 'silent' }),
      options: { webhookSecret: SECRET },
    });
    app = build({ inventory, kinds: ['widget'], operations });
    await app.ready();
    // Raised in an order that is neither the severity order nor its reverse.
    const raised: Array<[string, string, string]> = [
      ['warn-10:00-first', 'warning', '10:00'],
      ['crit-09:00', 'critical', '09:00'],
      ['info-11:00', 'info', '11:00'],
      ['crit-10:30', 'critical', '10:30'],
      ['warn-10:00-second', 'warning', '10:00'],
      ['crit-12:00-resolved', 'critical', '12:00'],
      ['error-08:00-acked', 'error', '08:00'],
      ['custom-12:30', 'page-me', '12:30'],
    ];
    for (const [name, severity, at] of raised) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/incidents/webhook',
        headers: { authorization: `Bearer ${SECRET}` },
        payload: {
          alerts: [
            {
              status: 'firing',
              labels: { alertname: name, severity },
              startsAt: `2026-11-02T${at}:00Z`,
              fingerprint: name,
            },
          ],
        },
      });
      ids[name] = res.json<{ incidents: number[] }>().incidents[0];
    }
    inventory.db.prepare("UPDATE incidents SET status = 'resolved' WHERE id = ?").run(ids['crit-12:00-resolved']);
    const ack = await app.inject({
      method: 'POST',
      url: `/api/v1/incidents/${ids['error-08:00-acked']}/ack`,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(ack.statusCode).toBe(200);
  });
  afterAll(async () => {
    await app?.close();
    cleanup?.();
  });

  it('lists the unresolved most severe first, then newest started (newer id on a tie), page by page', async () => {
    const seen: Array<{ id: number }> = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const page = await get(`/incidents?status=unresolved&sort=severity&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      sizes.push(page.items.length);
      seen.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    expect(sizes).toEqual([3, 3, 1]);
    expect(names(seen)).toEqual([
      'crit-10:30',
      'crit-09:00',
      'error-08:00-acked',
      'warn-10:00-second',
      'warn-10:00-first',
      'info-11:00',
      'custom-12:30',
    ]);
  });

  it('narrows to one state in the same order, and keeps newest first by default', async () => {
    expect(names((await get('/incidents?status=open&sort=severity')).items)).toEqual([
      'crit-10:30',
      'crit-09:00',
      'warn-10:00-second',
      'warn-10:00-first',
      'info-11:00',
      'custom-12:30',
    ]);
    expect((await get('/incidents')).items.map((i) => i.id)).toEqual(Object.values(ids).sort((a, b) => b - a));
  });

  it('refuses to page on after an incident that is not there (pruned by history retention)', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/incidents?sort=severity&cursor=999999',
      headers: { authorization: `Bearer ${key}` },
    });
    expect([res.statusCode, res.json<{ error: { field: string } }>().error.field]).toEqual([400, 'cursor']);
  });
});
