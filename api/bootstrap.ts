import type { ApiKeyInfo, Inventory } from '../collector/inventory/index.ts';

export type BootstrapResult =
  | { created: true; key: ApiKeyInfo; warning?: string }
  /** `admitted`: the existing key the variable matched (usable from now on), or null. */
  | { created: false; reason: 'keys_exist'; admitted: ApiKeyInfo | null; warning?: string }
  | { created: false; reason: 'no_env'; warning?: string };

/**
 * At start. First start: when the inventory has no API keys at all and `FLEETPULSE_ADMIN_KEY`
 * is set, that value becomes an admin key named `bootstrap` (stored with scrypt: an operator
 * chose it). Later starts: the variable is checked once against the stored key (one scrypt) and,
 * when it matches an active one, requests with it are compared in memory (SHA-256, constant
 * time), so that no request ever costs a password hash. It cannot re-create a revoked key.
 */
export async function bootstrapAdminKey(
  inventory: Inventory,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BootstrapResult> {
  const keys = inventory.apiKeys;
  const value = env.FLEETPULSE_ADMIN_KEY;
  if (!value) {
    const unusable = keys.unadmittedChosen();
    return unusable > 0
      ? {
          created: false,
          reason: 'no_env',
          warning: `${unusable} operator-chosen API key(s) are refused: FLEETPULSE_ADMIN_KEY is not set (set it to the key, or create one with \`fleetpulse keys create\`)`,
        }
      : { created: false, reason: 'no_env' };
  }
  if (keys.count() > 0) {
    const admitted = await keys.admitChosen(value);
    // A generated key (fpk_…) set as the variable is checked as any request's key is.
    return admitted || keys.verify(value)
      ? { created: false, reason: 'keys_exist', admitted }
      : {
          created: false,
          reason: 'keys_exist',
          admitted: null,
          warning:
            'FLEETPULSE_ADMIN_KEY matches no active API key and is refused: it only creates the first key of an empty inventory. ' +
            'Create an admin key with `fleetpulse keys create --role admin --name <name>` (with the same --config), then unset FLEETPULSE_ADMIN_KEY',
        };
  }
  const key = await keys.createWithValue({ name: 'bootstrap', role: 'admin', value, createdBy: 'env' });
  const warning =
    value.length < 24
      ? `FLEETPULSE_ADMIN_KEY is only ${value.length} characters: use a long random value (openssl rand -base64 32), or create keys with \`fleetpulse keys create\``
      : undefined;
  return warning ? { created: true, key, warning } : { created: true, key };
}
