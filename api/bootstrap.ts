import type { ApiKeyInfo, Inventory } from '../collector/inventory/index.ts';

export type BootstrapResult =
  | { created: true; key: ApiKeyInfo; warning?: string }
  | { created: false; reason: 'keys_exist' | 'no_env' };

/**
 * First start: when the inventory has no API keys at all and `FLEETPULSE_ADMIN_KEY` is set,
 * that value becomes an admin key named `bootstrap` (stored with scrypt: an operator chose it).
 * Once any key exists the variable is ignored, so it cannot re-create a revoked key.
 */
export async function bootstrapAdminKey(inventory: Inventory, env: NodeJS.ProcessEnv = process.env): Promise<BootstrapResult> {
  const value = env.FLEETPULSE_ADMIN_KEY;
  if (!value) return { created: false, reason: 'no_env' };
  if (inventory.apiKeys.count() > 0) return { created: false, reason: 'keys_exist' };
  const key = await inventory.apiKeys.createWithValue({ name: 'bootstrap', role: 'admin', value, createdBy: 'env' });
  const warning =
    value.length < 24
      ? `FLEETPULSE_ADMIN_KEY is only ${value.length} characters: use a long random value (openssl rand -base64 32), or create keys with \`fleetpulse keys create\``
      : undefined;
  return warning ? { created: true, key, warning } : { created: true, key };
}
