import type { ApiKeyInfo, Inventory } from '../collector/inventory/index.ts';

export type BootstrapResult =
  | { created: true; key: ApiKeyInfo; warning?: string }
  | { created: false; reason: 'keys_exist' | 'no_env'; warning?: string };

/**
 * First start: when the inventory has no API keys at all and `FLEETPULSE_ADMIN_KEY` is set,
 * that value becomes an admin key named `bootstrap` (stored with scrypt: an operator chose it).
 * Once any key exists the variable is ignored, so it cannot re-create a revoked key; when it
 * then matches no active key (a new value set on an inventory that has keys), the result carries
 * a warning saying so and what to do, which serve logs.
 */
export async function bootstrapAdminKey(inventory: Inventory, env: NodeJS.ProcessEnv = process.env): Promise<BootstrapResult> {
  const value = env.FLEETPULSE_ADMIN_KEY;
  if (!value) return { created: false, reason: 'no_env' };
  if (inventory.apiKeys.count() > 0) {
    if (await inventory.apiKeys.verify(value)) return { created: false, reason: 'keys_exist' };
    return {
      created: false,
      reason: 'keys_exist',
      warning:
        'FLEETPULSE_ADMIN_KEY matches no active API key and is ignored: it only creates the first key of an empty inventory. ' +
        'Create an admin key with `fleetpulse keys create --role admin --name <name>` (with the same --config), then unset FLEETPULSE_ADMIN_KEY',
    };
  }
  const key = await inventory.apiKeys.createWithValue({ name: 'bootstrap', role: 'admin', value, createdBy: 'env' });
  const warning =
    value.length < 24
      ? `FLEETPULSE_ADMIN_KEY is only ${value.length} characters: use a long random value (openssl rand -base64 32), or create keys with \`fleetpulse keys create\``
      : undefined;
  return warning ? { created: true, key, warning } : { created: true, key };
}
