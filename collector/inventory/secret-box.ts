import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';

/**
 * AES-256-GCM for secrets the server must be able to read back (HMAC keys: a webhook's
 * signature can only be checked by recomputing it). A leaked database alone reveals nothing;
 * the key lives outside it: `FLEETPULSE_SECRET_KEY`, or a key file beside the database.
 *
 * Sealed layout: version (1 byte, = 1) | IV (12) | tag (16) | ciphertext. The associated data
 * binds a ciphertext to its row, so a sealed value copied into another row does not open.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error(`secret key must be 32 bytes, got ${key.length}`);
    this.key = Buffer.from(key);
  }

  seal(plaintext: Buffer, associated: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(associated, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  /** Throws when the key is not the one that sealed the value or the value was altered. */
  open(sealed: Buffer, associated: string): Buffer {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
      throw new Error('sealed secret has an unknown format');
    }
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(associated, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  }
}

export type SecretKeySource = 'option' | 'env' | 'file' | 'ephemeral';

export interface ResolvedSecretKey {
  key: Buffer;
  source: SecretKeySource;
  /** The key file, when the key came from (or was written to) one. */
  file?: string;
}

/**
 * Where the key comes from, first match wins: the `secretKey` option; `FLEETPULSE_SECRET_KEY`
 * (32 bytes as 64 hex digits or base64); the key file `<database>.key`, created with mode 0600
 * on first need. An in-memory database gets a random key that dies with it.
 */
export function resolveSecretKey(opts: {
  dbPath: string;
  secretKey?: Buffer | string;
  env?: NodeJS.ProcessEnv;
}): ResolvedSecretKey {
  if (opts.secretKey !== undefined) return { key: parseKey(opts.secretKey, 'secretKey option'), source: 'option' };
  const fromEnv = (opts.env ?? process.env).FLEETPULSE_SECRET_KEY;
  if (fromEnv) return { key: parseKey(fromEnv, 'FLEETPULSE_SECRET_KEY'), source: 'env' };
  if (opts.dbPath === ':memory:' || opts.dbPath === '') return { key: randomBytes(32), source: 'ephemeral' };

  const file = `${opts.dbPath}.key`;
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) {
      throw new Error(`${file} is readable by other users (mode ${mode.toString(8)}): run chmod 600 ${file}`);
    }
    return { key: parseKey(readFileSync(file, 'utf8').trim(), file), source: 'file', file };
  }
  const key = randomBytes(32);
  // 'wx': never overwrite a key another process has just written.
  try {
    writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return resolveSecretKey(opts);
    throw err;
  }
  return { key, source: 'file', file };
}

function parseKey(value: Buffer | string, where: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  const text = value.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) {
    throw new Error(
      `${where} must be 32 bytes written as 64 hex digits or base64 (e.g. \`openssl rand -base64 32\`), got ${key.length} bytes`,
    );
  }
  return key;
}
