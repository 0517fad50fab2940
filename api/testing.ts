import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { ROLES, type Inventory, type Role } from '../collector/inventory/index.ts';
import { seedOwners, tempInventory } from '../collector/inventory/testing.ts';
import { build, type BuildOptions } from './app.ts';

export const KINDS = ['terminal', 'pc', 'charger', 'pos', 'plug'];

export type Caller = Role | 'none' | 'revoked';
export const CALLERS: readonly Caller[] = ['none', 'revoked', ...ROLES];

export interface TestApi {
  app: FastifyInstance;
  inventory: Inventory;
  /** A key per role, plus a revoked admin key. */
  keys: Record<Role | 'revoked', string>;
  /** `app.inject` as a given caller. */
  call(caller: Caller, opts: InjectOptions): Promise<LightMyRequestResponse>;
  cleanup: () => Promise<void>;
}

/** The real app over a real inventory file in a temp dir, with owners seeded and a key per role. */
export async function testApi(opts: Partial<BuildOptions> = {}): Promise<TestApi> {
  const fixture = tempInventory();
  const inventory = fixture.inventory;
  seedOwners(inventory);
  const keys = Object.fromEntries(
    ROLES.map((role) => [role, inventory.apiKeys.create({ name: `${role}-key`, role }).key]),
  ) as Record<Role | 'revoked', string>;
  const revoked = inventory.apiKeys.create({ name: 'revoked-key', role: 'admin' });
  inventory.apiKeys.revoke(revoked.id);
  keys.revoked = revoked.key;
  const app = build({ inventory, kinds: KINDS, ...opts });
  await app.ready();
  return {
    app,
    inventory,
    keys,
    call(caller, inject) {
      const headers = { ...(inject.headers ?? {}) } as Record<string, string>;
      if (caller !== 'none') headers.authorization = `Bearer ${keys[caller]}`;
      return app.inject({ ...inject, headers });
    },
    async cleanup() {
      await app.close();
      fixture.cleanup();
    },
  };
}
