import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openInventory, type Inventory, type InventoryOptions } from './store.ts';

/** A fresh directory under the OS temp dir, and a way to remove it. */
export function tempDir(prefix = 'fleetpulse-inv-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A real inventory file in a temp dir, with a fixed secret key unless one is given. */
export function tempInventory(opts: Partial<InventoryOptions> = {}): {
  inventory: Inventory;
  dir: string;
  file: string;
  reopen(more?: Partial<InventoryOptions>): Inventory;
  cleanup: () => void;
} {
  const { dir, cleanup } = tempDir();
  const file = path.join(dir, 'fleetpulse.db');
  const base: InventoryOptions = { path: file, env: {}, ...opts };
  let current = openInventory(base);
  return {
    get inventory() {
      return current;
    },
    dir,
    file,
    reopen(more = {}) {
      current.close();
      current = openInventory({ ...base, ...more });
      return current;
    },
    cleanup() {
      current.close();
      cleanup();
    },
  };
}

/** A customer with two sites, for tests that need owners. */
export function seedOwners(inventory: Inventory): void {
  inventory.customers.create({ id: 'acme', company: 'Acme Retail', contract: 'premium' });
  inventory.customers.create({ id: 'volt', company: 'Voltaic Charging' });
  inventory.sites.create({ id: 'acme-berlin', customer: 'acme', name: 'Berlin Mitte', timezone: 'Europe/Berlin' });
  inventory.sites.create({ id: 'acme-hamburg', customer: 'acme', name: 'Hamburg Hafen', timezone: 'Europe/Berlin' });
  inventory.sites.create({ id: 'volt-lyon', customer: 'volt', name: 'Lyon Part-Dieu', timezone: 'Europe/Paris' });
}
