import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { build } from '../api/app.ts';
import { ROLES, type Inventory, type Role } from '../collector/inventory/index.ts';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { Operations } from '../collector/operations/operations.ts';
import { startFleet, until, type Fleet } from '../collector/operations/testing.ts';

const SECRET = 'grafana-shared-secret-0123456789';

describe('operations API', { timeout: 30_000 }, () => {
  let app: FastifyInstance;
  let inventory: Inventory;
  let fleet: Fleet;
  let ops: Operations;
  let cleanup: () => void;
  let contact: Server;
  const escalations: unknown[] = [];
  const keys = {} as Record<Role, string>;

  beforeAll(async () => {
    contact = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        escalations.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => contact.listen(0, '127.0.0.1', r));
    const f = tempInventory();
    inventory = f.inventory;
    cleanup = f.cleanup;
    seedOwners(inventory);
    for (let i = 0; i < 6; i++)
      inventory.devices.create({
        id: `w${i}`,
        kind: 'widget',
        site: i < 4 ? 'acme-berlin' : 'volt-lyon',
        labels: { zone: i % 2 ? 'odd' : 'even' },
      });
    for (const role of ROLES) keys[role] = inventory.apiKeys.create({ name: `${role}-key`, role }).key;
    fleet = await startFleet(inventory);
    ops = new Operations({
      inventory,
      bus: fleet.collector.bus,
      plugins: [fleet.plugin],
      emit: (p) => fleet.collector.emitter.system(p),
      log: pino({ level: 'silent' }),
      options: {
        webhookSecret: SECRET,
        commands: { pollMs: 20 },
        escalation: {
          contacts: [`http://127.0.0.1:${(contact.address() as AddressInfo).port}/page`],
          delayS: 600,
          allowedNetworks: ['127.0.0.0/8'],
        },
      },
    });
    ops.start();
    app = build({ inventory, kinds: ['widget'], operations: ops });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await ops?.stop(100);
    await fleet?.stop();
    cleanup?.();
    await new Promise((r) => contact?.close(r));
  });

  const call = (role: Role | 'none', opts: InjectOptions) =>
    app.inject({
      ...opts,
      url: `/api/v1${opts.url}`,
      headers: { ...(opts.headers ?? {}), ...(role === 'none' ? {} : { authorization: `Bearer ${keys[role]}` }) },
    });

  it('says in the OpenAPI document that it serves operations too', async () => {
    const doc = (await app.inject({ url: '/api/v1/openapi.json' })).json();
    expect(doc.info.description).toMatch(/audit log; durable commands, firmware and rollouts, .* timed sessions; plus/);
    expect(doc.paths['/api/v1/sessions']).toBeDefined();
  });

  describe('commands', () => {
    it('a dry run lists the matching devices and creates nothing', async () => {
      const res = await call('operator', {
        method: 'POST',
        url: '/commands',
        payload: { selector: { site: 'acme-berlin', labels: { zone: 'odd' } }, name: 'reboot', dry_run: true },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ dry_run: true, count: 2, ids: [], devices: ['w1', 'w3'] });
      expect(ops.commands.list({ limit: 10 }).items).toEqual([]);
    });

    it('creates one command per matching device and runs them when the devices attach', async () => {
      const res = await call('operator', {
        method: 'POST',
        url: '/commands',
        payload: { selector: { customer: 'acme' }, name: 'set_volume', params: { level: 4 } },
      });
      expect(res.statusCode).toBe(201);
      const { ids, devices } = res.json<{ ids: string[]; devices: string[] }>();
      expect(devices).toEqual(['w0', 'w1', 'w2', 'w3']);
      fleet.connect('w0');
      await until(() => ops.commands.get(ids[0])!.status === 'succeeded', 'w0 to run it');
      const one = await call('viewer', { method: 'GET', url: `/commands/${ids[0]}` });
      expect(one.json()).toMatchObject({ device: 'w0', status: 'succeeded', created_by: 'operator-key', result: 'ok' });
      const queued = await call('viewer', { method: 'GET', url: '/commands?status=queued&limit=2' });
      expect(queued.json().items).toHaveLength(2);
      const next = await call('viewer', {
        method: 'GET',
        url: `/commands?status=queued&limit=2&cursor=${queued.json().next_cursor}`,
      });
      expect(next.json()).toMatchObject({ items: [expect.objectContaining({ status: 'queued' })], next_cursor: null });
      const cancelled = await call('operator', { method: 'POST', url: `/commands/${ids[3]}/cancel` });
      expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
      expect((await call('operator', { method: 'POST', url: `/commands/${ids[3]}/cancel` })).statusCode).toBe(409);
    });

    it('refuses bad commands with a specific error, and viewers', async () => {
      const bad = await call('operator', {
        method: 'POST',
        url: '/commands',
        payload: { device: 'w4', name: 'set_volume', params: { level: 99 } },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toMatchObject({ code: 'FP_VALIDATION', field: 'params.level' });
      expect(
        (
          await call('operator', { method: 'POST', url: '/commands', payload: { device: 'nope', name: 'reboot' } })
        ).json().error,
      ).toMatchObject({ field: 'device' });
      expect(
        (await call('operator', { method: 'POST', url: '/commands', payload: { name: 'reboot' } })).statusCode,
      ).toBe(400);
      expect(
        (
          await call('operator', {
            method: 'POST',
            url: '/commands',
            payload: { selector: { site: 'acme-hamburg' }, name: 'reboot' },
          })
        ).json().error.field,
      ).toBe('selector');
      expect(
        (await call('viewer', { method: 'POST', url: '/commands', payload: { device: 'w4', name: 'reboot' } }))
          .statusCode,
      ).toBe(403);
      expect((await call('viewer', { method: 'GET', url: '/commands/unknown' })).statusCode).toBe(404);
    });
  });

  describe('maintenance', () => {
    it('creates a recurring window from start and end times and reports a device in it', async () => {
      const res = await call('operator', {
        method: 'POST',
        url: '/maintenance',
        payload: {
          scope: 'site',
          target: 'volt-lyon',
          recurrence: 'daily',
          start_time: '00:00',
          end_time: '00:00',
          reason: 'always, for the test',
        },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ duration_min: 1440, end_time: '00:00', created_by: 'operator-key' });
      const status = await call('viewer', { method: 'GET', url: '/maintenance/devices/w4' });
      expect(status.json()).toMatchObject({ in_maintenance: true, windows: [res.json().id] });
      expect((await call('viewer', { method: 'GET', url: '/maintenance/devices/w0' })).json().in_maintenance).toBe(
        false,
      );
      expect(
        (
          await call('operator', {
            method: 'POST',
            url: '/maintenance',
            payload: { scope: 'site', target: 'nowhere', recurrence: 'daily', start_time: '01:00', end_time: '02:00' },
          })
        ).json().error.field,
      ).toBe('target');
      expect(
        (
          await call('operator', {
            method: 'POST',
            url: '/maintenance',
            payload: { scope: 'device', target: 'w0', recurrence: 'weekly', start_time: '01:00', end_time: '02:00' },
          })
        ).json().error.field,
      ).toBe('weekdays');
      expect((await call('operator', { method: 'DELETE', url: `/maintenance/${res.json().id}` })).statusCode).toBe(204);
      expect((await call('viewer', { method: 'GET', url: '/maintenance/devices/w4' })).json().in_maintenance).toBe(
        false,
      );
    });
  });

  describe('firmware and rollouts', () => {
    it('refuses unsafe image URLs, runs a rollout and shows its progress and devices', async () => {
      const sha256 = 'b'.repeat(64);
      const bad = await call('admin', {
        method: 'POST',
        url: '/firmware',
        payload: { model: 'TC-9', version: '2', url: 'http://169.254.169.254/fw', sha256 },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toMatchObject({
        code: 'FP_VALIDATION',
        field: 'url',
        message: expect.stringContaining('cloud metadata'),
      });
      expect(
        (
          await call('operator', {
            method: 'POST',
            url: '/firmware',
            payload: { model: 'TC-9', version: '2', url: 'https://fw.example.com/2', sha256 },
          })
        ).statusCode,
      ).toBe(403);
      const fw = await call('admin', {
        method: 'POST',
        url: '/firmware',
        payload: { model: 'TC-9', version: '2', url: 'https://fw.example.com/2', sha256, notes: 'n' },
      });
      expect(fw.statusCode).toBe(201);
      expect(
        (
          await call('admin', {
            method: 'POST',
            url: '/firmware',
            payload: { model: 'TC-9', version: '2', url: 'https://fw.example.com/2', sha256 },
          })
        ).statusCode,
      ).toBe(409);
      for (const id of ['fw1', 'fw2', 'fw3']) {
        inventory.devices.create({ id, kind: 'widget', model: 'TC-9', firmware: '1', site: 'acme-hamburg' });
        fleet.connect(id, { firmware: '1' });
      }
      const created = await call('admin', {
        method: 'POST',
        url: '/rollouts',
        payload: { firmware_id: fw.json().id, selector: {}, canary: { count: 1 }, wave_size: 2 },
      });
      expect(created.statusCode).toBe(201);
      expect(created.json().progress).toMatchObject({ total: 3, waves: 2 });
      const id = created.json().id as string;
      await until(() => ops.rollouts.get(id)!.status === 'completed', 'the rollout to complete');
      expect((await call('viewer', { method: 'GET', url: `/rollouts/${id}` })).json()).toMatchObject({
        status: 'completed',
        progress: { done: 3, percent: 100 },
      });
      expect(
        (await call('viewer', { method: 'GET', url: `/rollouts/${id}/devices` }))
          .json()
          .items.map((d: { state: string }) => d.state),
      ).toEqual(['done', 'done', 'done']);
      expect((await call('operator', { method: 'POST', url: `/rollouts/${id}/pause` })).statusCode).toBe(409);
      expect((await call('viewer', { method: 'GET', url: '/rollouts/nope' })).statusCode).toBe(404);
    });
  });

  describe('incidents', () => {
    const alert = (status: 'firing' | 'resolved', extra: Record<string, unknown> = {}) => ({
      receiver: 'fleetpulse',
      status,
      alerts: [
        {
          status,
          labels: { alertname: 'DeviceOffline', severity: 'critical', device: 'w2' },
          annotations: { summary: 'w2 is offline' },
          startsAt: '2026-10-03T10:00:00Z',
          endsAt: status === 'resolved' ? '2026-10-03T11:00:00Z' : '0001-01-01T00:00:00Z',
          fingerprint: 'abc123',
          ...extra,
        },
      ],
    });
    const hook = (payload: unknown, secret: string | null = SECRET) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/incidents/webhook',
        payload: payload as object,
        headers: secret === null ? {} : { authorization: `Bearer ${secret}` },
      });

    it('refuses a missing or wrong secret, and audits the refusal', async () => {
      expect((await hook(alert('firing'), null)).statusCode).toBe(401);
      const wrong = await hook(alert('firing'), 'not-the-secret');
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().error.code).toBe('FP_UNAUTHENTICATED');
      expect(ops.incidents.list({ limit: 10 }).items).toEqual([]);
      expect(inventory.audit.list({ action: 'incidents.webhook', limit: 10 }).items.map((e) => e.result)).toEqual([
        'denied',
        'denied',
      ]);
      expect((await hook({ alerts: [{ status: 'firing' }] })).statusCode).toBe(400); // malformed
      const undated = await hook(alert('firing', { startsAt: 'yesterday' }));
      expect([undated.statusCode, undated.json().error]).toEqual([
        400,
        { code: 'FP_VALIDATION', field: 'alerts', message: "startsAt 'yesterday' is not a date" },
      ]);
      expect(ops.incidents.list({ limit: 10 }).items).toEqual([]);
    });

    it('records duplicated notifications as one incident, enriched from the inventory', async () => {
      const first = await hook(alert('firing'));
      expect(first.json()).toMatchObject({ received: 1, created: 1 });
      const again = await hook(alert('firing'));
      expect(again.json()).toMatchObject({ received: 1, created: 0, incidents: first.json().incidents });
      const list = (await call('viewer', { method: 'GET', url: '/incidents' })).json().items;
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({
        rule: 'DeviceOffline',
        severity: 'critical',
        device: 'w2',
        customer: 'acme',
        site: 'acme-berlin',
        status: 'open',
        notifications: 2,
      });
    });

    it('escalates an unacknowledged critical incident to the next contact, once per delay', async () => {
      const [incident] = ops.incidents.list({ limit: 1 }).items;
      expect(await ops.escalator.check(incident.created_at + 1000)).toBe(0); // not yet due
      expect(await ops.escalator.check(incident.created_at + 601_000)).toBe(1);
      expect(escalations).toEqual([
        expect.objectContaining({
          event: 'incident_escalated',
          level: 1,
          url: `/api/v1/incidents/${incident.id}`,
          incident: expect.objectContaining({ id: incident.id }),
        }),
      ]);
      expect(await ops.escalator.check(incident.created_at + 700_000)).toBe(0); // the only contact was paged
    });

    it('acknowledge, assign, comment, resolve, with who and when, and MTTA/MTTR', async () => {
      const [incident] = ops.incidents.list({ limit: 1 }).items;
      const id = incident.id;
      expect((await call('viewer', { method: 'POST', url: `/incidents/${id}/ack` })).statusCode).toBe(403);
      expect((await call('support', { method: 'POST', url: `/incidents/${id}/ack` })).json()).toMatchObject({
        status: 'acknowledged',
        acked_by: 'support-key',
      });
      expect((await call('support', { method: 'POST', url: `/incidents/${id}/ack` })).statusCode).toBe(409);
      expect(
        (
          await call('support', { method: 'POST', url: `/incidents/${id}/assign`, payload: { assignee: 'dana' } })
        ).json().assignee,
      ).toBe('dana');
      await call('support', {
        method: 'POST',
        url: `/incidents/${id}/comments`,
        payload: { text: 'router at the store replaced' },
      });
      expect((await call('operator', { method: 'POST', url: `/incidents/${id}/resolve` })).json()).toMatchObject({
        status: 'resolved',
        resolved_by: 'operator-key',
      });
      const detail = (await call('viewer', { method: 'GET', url: `/incidents/${id}` })).json();
      // A device's own incident stands for no other device (incidents of a cause: test/grafana-dependencies.test.ts).
      expect(detail.affected).toEqual([]);
      expect(detail.events.map((e: { type: string }) => e.type)).toEqual([
        'opened',
        'escalated',
        'acknowledged',
        'assigned',
        'comment',
        'resolved',
      ]);
      const stats = (
        await call('viewer', {
          method: 'GET',
          url: '/incidents/stats?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z',
        })
      ).json();
      expect(stats.items).toEqual([
        expect.objectContaining({ customer: 'acme', severity: 'critical', count: 1, acknowledged: 1, resolved: 1 }),
      ]);
      expect((await call('viewer', { method: 'GET', url: '/incidents/999' })).statusCode).toBe(404);
    });

    it('a resolved notification closes the incident of a new alert instance by itself', async () => {
      const opened = (await hook(alert('firing', { fingerprint: 'def456' }))).json();
      const closed = (await hook(alert('resolved', { fingerprint: 'def456' }))).json();
      expect(closed.incidents).toEqual(opened.incidents);
      expect(ops.incidents.get(opened.incidents[0])).toMatchObject({
        status: 'resolved',
        resolved_by: 'grafana',
        ends_at: Date.parse('2026-10-03T11:00:00Z'),
      });
    });
  });
});
