/**
 * Routing from the inventory: the generated policy tree (read back from policies.yaml) sends each
 * contract's alerts where the docs say, by the `contract` label the device rules keep; and the
 * inventory puts the customer's contract on every device record, which the Emitter writes as a tag.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { CONTACT } from '../alerting/notifications.ts';
import { routeAlert, type Route } from '../alerting/routing.ts';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { REPO_ROOT } from '../dashboards/build.ts';
import { PROVISIONING_DIR } from '../dashboards/provisioning.ts';

const tree = async () =>
  (
    load(await readFile(path.join(REPO_ROOT, PROVISIONING_DIR, 'alerting/policies.yaml'), 'utf8')) as {
      policies: Route[];
    }
  ).policies[0];
const device = { alertname: 'Device offline', product: 'fleetpulse', device: 't-1', customer: 'acme', site: 's-1' };
const where = (routes: Route[]) => routes.map((r) => `${r.receiver}${r.group_wait ? `@${r.group_wait}` : ''}`);

describe('notification policies route by the contract label', () => {
  it('premium pages at once, standard after 5 min, basic goes to the NOC; warnings to the NOC; every alert to incidents', async () => {
    const root = await tree();
    const route = (labels: Record<string, string>) => where(routeAlert(root, { ...device, ...labels }));
    const incidents = `${CONTACT.incidents}@0s`;
    expect(route({ severity: 'critical', contract: 'premium' })).toEqual([incidents, `${CONTACT.oncall}@0s`]);
    expect(route({ severity: 'critical', contract: 'standard' })).toEqual([incidents, `${CONTACT.oncall}@5m`]);
    expect(route({ severity: 'critical', contract: 'basic' })).toEqual([incidents, `${CONTACT.noc}@5m`]);
    // A contract not on the points yet is treated as standard, never dropped.
    expect(route({ severity: 'critical' })).toEqual([incidents, `${CONTACT.oncall}@5m`]);
    expect(route({ severity: 'warning', contract: 'premium' })).toEqual([incidents, CONTACT.noc]);
    // Collector and data-path alerts name no customer: critical pages.
    expect(where(routeAlert(root, { alertname: 'x', product: 'fleetpulse', severity: 'critical', host: 'h' }))).toEqual(
      [incidents, `${CONTACT.oncall}@0s`],
    );
    expect(JSON.stringify(root)).not.toContain('FLEETPULSE_PREMIUM_CUSTOMERS');
  });

  it("every device record carries its customer's contract, and follows a change of it", () => {
    const inv = tempInventory();
    try {
      const { inventory } = inv;
      seedOwners(inventory);
      inventory.devices.create({ id: 'TC-1', kind: 'terminal', customer: 'acme', site: 'acme-berlin' });
      inventory.devices.create({ id: 'CP-1', kind: 'charger', customer: 'volt', site: 'volt-lyon' });
      expect(inventory.directory.lookup('TC-1')?.contract).toBe('premium');
      expect(inventory.directory.lookup('CP-1')?.contract).toBe('standard');
      inventory.customers.update('acme', { contract: 'basic' });
      expect(inventory.directory.lookup('TC-1')?.contract).toBe('basic');
      expect(inventory.directory.lookup('CP-1')?.contract).toBe('standard');
    } finally {
      inv.cleanup();
    }
  });
});
