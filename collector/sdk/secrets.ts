import { randomBytes, randomInt } from 'node:crypto';

/**
 * A new random secret. `*_password` types get 20 characters of [A-Za-z0-9] (~119 bits), what
 * both OCPP versions allow: 1.6 wants an AuthorizationKey of 16–20 bytes (sent as 32–40 hex
 * digits), 2.0.1 a BasicAuthPassword of 16–40 characters.
 * Everything else gets 32 random bytes as base64url (43 characters, 256 bits).
 */
export function generateSecret(type: string): string {
  if (type.endsWith('_password')) {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let out = '';
    for (let i = 0; i < 20; i++) out += alphabet[randomInt(alphabet.length)];
    return out;
  }
  return randomBytes(32).toString('base64url');
}
