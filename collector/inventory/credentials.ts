import { createHash, timingSafeEqual } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { Credential } from '../sdk/devices.ts';
import { generateSecret } from '../sdk/secrets.ts';

export { generateSecret };
import { conflict, invalid, notFound } from './errors.ts';
import { randomId } from './ids.ts';
import type { SecretBox } from './secret-box.ts';

/**
 * How a credential type is kept:
 * - `sha256`: only the hash of a random secret (a leaked database reveals nothing usable);
 *   for secrets the device presents as they are (OCPP Basic Auth password, agent token).
 * - `sealed`: AES-256-GCM ciphertext, for HMAC keys: a signature can only be checked by
 *   recomputing it, so the server must be able to read the key.
 */
export type CredentialScheme = 'sha256' | 'sealed';

export const CREDENTIAL_TYPE_PATTERN = /^[a-z][a-z0-9_]{1,63}$/;

/**
 * The scheme of a type the caller has not configured, by naming convention, so that a new
 * plugin needs no change in the core: `*_hmac` is sealed, everything else hashed.
 */
export function defaultScheme(type: string): CredentialScheme {
  return type.endsWith('_hmac') ? 'sealed' : 'sha256';
}

export interface CredentialInfo {
  id: string;
  device: string;
  type: string;
  scheme: CredentialScheme;
  created_at: number;
  rotated_at: number | null;
  revoked_at: number | null;
}

/** Returned once, at issue or rotation: the secret is not stored in a readable form (or at all). */
export interface IssuedCredential extends CredentialInfo {
  secret: string;
}

interface CredentialRow extends CredentialInfo {
  material: Buffer;
}

const INFO = 'id, device_id AS device, type, scheme, created_at, rotated_at, revoked_at';

export type CredentialCheck = 'match' | 'mismatch' | 'none';

export class Credentials {
  private readonly active: Statement<[string, string], CredentialRow>;

  constructor(
    private readonly db: Database,
    /** Resolved on first need: deployments without HMAC devices never need a key. */
    private readonly box: () => SecretBox,
    private readonly now: () => number,
    private readonly schemes: Readonly<Record<string, CredentialScheme>> = {},
  ) {
    this.active = db.prepare(
      `SELECT ${INFO}, material FROM credentials WHERE device_id = ? AND type = ? AND revoked_at IS NULL`,
    );
  }

  schemeOf(type: string): CredentialScheme {
    return this.schemes[type] ?? defaultScheme(type);
  }

  list(deviceId: string): CredentialInfo[] {
    this.requireDevice(deviceId);
    return this.db
      .prepare(`SELECT ${INFO} FROM credentials WHERE device_id = ? ORDER BY created_at, id`)
      .all(deviceId) as CredentialInfo[];
  }

  get(deviceId: string, id: string): CredentialInfo {
    const row = this.db.prepare(`SELECT ${INFO} FROM credentials WHERE id = ? AND device_id = ?`).get(id, deviceId) as
      CredentialInfo | undefined;
    if (!row) {
      this.requireDevice(deviceId);
      throw notFound('credential', id);
    }
    return row;
  }

  /** A new credential of `type` for the device; other active ones stay valid (for overlap). */
  issue(deviceId: string, type: string): IssuedCredential {
    if (!CREDENTIAL_TYPE_PATTERN.test(type)) {
      throw invalid('type', `credential type must match ${CREDENTIAL_TYPE_PATTERN}, got '${type}'`);
    }
    this.requireDevice(deviceId);
    const id = `cr_${randomId(12)}`;
    const scheme = this.schemeOf(type);
    const secret = generateSecret(type);
    this.db
      .prepare(`INSERT INTO credentials (id, device_id, type, scheme, material, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(id, deviceId, type, scheme, this.protect(scheme, secret, id, deviceId, type), this.now());
    return { ...this.get(deviceId, id), secret };
  }

  /** Replaces the secret; the old one stops working at once. */
  rotate(deviceId: string, id: string): IssuedCredential {
    const current = this.get(deviceId, id);
    if (current.revoked_at !== null)
      throw conflict(`credential '${id}' is revoked; issue a new one`, { credential: id });
    const secret = generateSecret(current.type);
    this.db
      .prepare('UPDATE credentials SET material = ?, rotated_at = ? WHERE id = ?')
      .run(this.protect(current.scheme, secret, id, deviceId, current.type), this.now(), id);
    return { ...this.get(deviceId, id), secret };
  }

  /** Revokes every active credential of `type` but `keep` (the end of an overlap). Returns how many. */
  revokeOthers(deviceId: string, type: string, keep: string): number {
    return this.db
      .prepare(
        'UPDATE credentials SET revoked_at = ? WHERE device_id = ? AND type = ? AND id != ? AND revoked_at IS NULL',
      )
      .run(this.now(), deviceId, type, keep).changes;
  }

  /** Takes effect for the next authentication: nothing caches credentials. Idempotent. */
  revoke(deviceId: string, id: string): CredentialInfo {
    const current = this.get(deviceId, id);
    if (current.revoked_at === null) {
      this.db.prepare('UPDATE credentials SET revoked_at = ? WHERE id = ?').run(this.now(), id);
    }
    return this.get(deviceId, id);
  }

  /**
   * Checks what a device presents against each of its active credentials of that type.
   * Comparisons are constant-time; an HMAC `verify` callback is called with each sealed secret.
   */
  check(deviceId: string, credential: Credential): CredentialCheck {
    return this.match(deviceId, credential).check;
  }

  /** As `check`, with the id of the credential that matched. */
  match(deviceId: string, credential: Credential): { check: CredentialCheck; id?: string } {
    const rows = this.active.all(deviceId, credential.type);
    if (rows.length === 0) return { check: 'none' };
    let matched: string | undefined;
    for (const row of rows) {
      if (row.scheme === 'sha256') {
        // A hashed secret cannot feed an HMAC check: only a presented secret can match.
        if ('secret' in credential && timingSafeEqual(sha256(credential.secret), row.material)) matched = row.id;
      } else {
        const secret = this.box().open(row.material, associated(row.id, deviceId, row.type));
        if (
          'secret' in credential
            ? timingSafeEqual(sha256(credential.secret), sha256(secret))
            : safeVerify(credential.verify, secret)
        ) {
          matched = row.id;
        }
      }
    }
    return matched ? { check: 'match', id: matched } : { check: 'mismatch' };
  }

  hasSealed(): boolean {
    return this.db.prepare(`SELECT 1 FROM credentials WHERE scheme = 'sealed' LIMIT 1`).get() !== undefined;
  }

  private protect(scheme: CredentialScheme, secret: string, id: string, deviceId: string, type: string): Buffer {
    return scheme === 'sha256'
      ? sha256(secret)
      : this.box().seal(Buffer.from(secret, 'utf8'), associated(id, deviceId, type));
  }

  private requireDevice(deviceId: string): void {
    if (!this.db.prepare('SELECT 1 FROM devices WHERE id = ?').get(deviceId)) throw notFound('device', deviceId);
  }
}

/** A plugin's verify callback that throws (malformed signature header...) is a mismatch. */
function safeVerify(verify: (secret: Buffer) => boolean, secret: Buffer): boolean {
  try {
    return verify(secret) === true;
  } catch {
    return false;
  }
}

function associated(id: string, deviceId: string, type: string): string {
  return `fleetpulse credential ${id} ${deviceId} ${type}`;
}

export function sha256(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}
