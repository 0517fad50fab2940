import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../api/app.ts';
import { maintenanceCalendar, startOperations } from '../bin/operations.ts';
import { seedOwners, tempInventory } from '../collector/inventory/test-helpers.ts';
import { startFleet, type Fleet } from '../collector/operations/test-helpers.ts';
import type { Inventory } from '../collector/inventory/index.ts';

/** startOperations as serve calls it: over a running collector, with settings from the environment. */
describe('startOperations', () => {
  let inventory: Inventory;
  let fleet: Fleet;
  let cleanup: () => void;
  const log = pino({ level: 'silent' });
  beforeAll(async () => {
    const f = tempInventory();
    inventory = f.inventory;
    cleanup = f.cleanup;
    seedOwners(inventory);
    fleet = await startFleet(inventory);
  });
  afterAll(async () => {
    await fleet?.stop();
    cleanup?.();
  });

  it('refuses bad settings naming the variable', () => {
    const deps = { inventory, collector: fleet.collector, plugins: [fleet.plugin], log };
    expect(() => startOperations({ ...deps, env: { FLEETPULSE_ESCALATION_CONTACTS: 'mailto:oncall@example.com' } })).toThrow(/^FLEETPULSE_ESCALATION_CONTACTS: /);
    expect(() => startOperations({ ...deps, env: { FLEETPULSE_ESCALATION_DELAY_S: 'soon' } })).toThrow(/^FLEETPULSE_ESCALATION_DELAY_S /);
    expect(() => startOperations({ ...deps, env: { FLEETPULSE_INCIDENT_WEBHOOK_SECRET: 'short' } })).toThrow(/at least 16/);
  });

  it('wires the webhook secret, the calendar and the API', async () => {
    const maintenance = maintenanceCalendar(inventory);
    const ops = startOperations({
      inventory,
      collector: fleet.collector,
      plugins: [fleet.plugin],
      log,
      maintenance,
      env: { FLEETPULSE_INCIDENT_WEBHOOK_SECRET: 'a-long-enough-secret', FLEETPULSE_ESCALATION_CONTACTS: 'http://127.0.0.1:9/a, https://pager.example.com/b' },
    });
    const app = build({ inventory, kinds: ['widget'], operations: ops });
    try {
      expect(ops.calendar).toBe(maintenance.calendar);
      const hook = (secret: string) =>
        app.inject({ method: 'POST', url: '/api/v1/incidents/webhook', headers: { authorization: `Bearer ${secret}` }, payload: { alerts: [{ status: 'firing', labels: { alertname: 'X' }, startsAt: '2026-10-01T00:00:00Z' }] } });
      expect((await hook('a-long-enough-secret')).statusCode).toBe(200);
      expect((await hook('a-long-enough-secreT')).statusCode).toBe(401);
    } finally {
      await app.close();
      await ops.stop(100);
    }
  });
});
