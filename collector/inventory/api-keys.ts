import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { conflict, invalid, notFound } from './errors.ts';
import { sha256 } from './credentials.ts';
import { randomId } from './ids.ts';

/** Lowest to highest; each role can do everything the ones before it can. */
export const ROLES = ['viewer', 'support', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: Role;
  created_at: number;
  /** Who made it: an API key id, `cli`, or `env` (bootstrap). */
  created_by: string | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface CreatedApiKey extends ApiKeyInfo {
  /** The key itself: shown once, stored only as a hash. */
  key: string;
}

interface KeyRow extends ApiKeyInfo {
  scheme: 'sha256' | 'scrypt';
  hash: Buffer;
  salt: Buffer | null;
}

/** `fpk_<id>_<secret>`: the id finds the row without a scan; the secret is 256 random bits. */
const KEY_FORMAT = /^fpk_([a-z2-7]{8})_([A-Za-z0-9_-]{43})$/;
const INFO = 'id, name, role, created_at, created_by, last_used_at, revoked_at';
// 16 MiB of memory, ~50 ms: only for operator-chosen keys, once per key at start, never per request.
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const LAST_USED_RESOLUTION_MS = 60_000;

export class ApiKeys {
  private readonly byId: Statement<[string], KeyRow>;
  /** SHA-256 of operator-chosen keys admitted at start (checked once with scrypt), by key id. */
  private readonly chosen: Array<{ digest: Buffer; id: string }> = [];

  constructor(
    private readonly db: Database,
    private readonly now: () => number,
  ) {
    this.byId = db.prepare(`SELECT ${INFO}, scheme, hash, salt FROM api_keys WHERE id = ?`);
  }

  create(opts: { name: string; role: Role; createdBy?: string }): CreatedApiKey {
    checkNameAndRole(opts.name, opts.role);
    const id = randomId(8);
    const key = `fpk_${id}_${randomBytes(32).toString('base64url')}`;
    this.db
      .prepare(
        `INSERT INTO api_keys (id, name, role, scheme, hash, created_at, created_by) VALUES (?, ?, ?, 'sha256', ?, ?, ?)`,
      )
      .run(id, opts.name, opts.role, sha256(key), this.now(), opts.createdBy ?? null);
    return { ...this.require(id), key };
  }

  /**
   * A key whose value an operator chose (`FLEETPULSE_ADMIN_KEY`): it may be guessable, so it
   * is stored with salted scrypt rather than a plain hash.
   */
  async createWithValue(opts: { name: string; role: Role; value: string; createdBy?: string }): Promise<ApiKeyInfo> {
    checkNameAndRole(opts.name, opts.role);
    if (opts.value.length === 0) throw invalid('value', 'the key must not be empty');
    const id = randomId(8);
    const salt = randomBytes(16);
    const hash = await scryptHash(opts.value, salt);
    this.db
      .prepare(
        `INSERT INTO api_keys (id, name, role, scheme, hash, salt, created_at, created_by)
         VALUES (?, ?, ?, 'scrypt', ?, ?, ?, ?)`,
      )
      .run(id, opts.name, opts.role, hash, salt, this.now(), opts.createdBy ?? null);
    this.remember(opts.value, id);
    return this.require(id);
  }

  list(): ApiKeyInfo[] {
    return this.db.prepare(`SELECT ${INFO} FROM api_keys ORDER BY created_at, id`).all() as ApiKeyInfo[];
  }

  get(id: string): ApiKeyInfo | undefined {
    const row = this.byId.get(id);
    return row && info(row);
  }

  require(id: string): ApiKeyInfo {
    const key = this.get(id);
    if (!key) throw notFound('key', id);
    return key;
  }

  count(opts: { activeOnly?: boolean; role?: Role } = {}): number {
    const where: string[] = [];
    const values: unknown[] = [];
    if (opts.activeOnly) where.push('revoked_at IS NULL');
    if (opts.role) {
      where.push('role = ?');
      values.push(opts.role);
    }
    const sql = `SELECT count(*) AS n FROM api_keys${where.length ? ' WHERE ' + where.join(' AND ') : ''}`;
    return (this.db.prepare(sql).get(...values) as { n: number }).n;
  }

  /** Effective at once: every request looks its key up. Revoking a revoked key is a conflict. */
  revoke(id: string): ApiKeyInfo {
    const key = this.require(id);
    if (key.revoked_at !== null) throw conflict(`key '${id}' is already revoked`, { key: id });
    this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(this.now(), id);
    return this.require(id);
  }

  /**
   * Checks a presented key without a password hash, so that a wrong key costs a lookup and a
   * SHA-256, never scrypt: our own keys (`fpk_<id>_...`) by their id's row; any other text only
   * against the operator-chosen keys this process was given at start (`admitChosen`).
   */
  verify(token: string): ApiKeyInfo | null {
    const m = KEY_FORMAT.exec(token);
    if (m) {
      const row = this.byId.get(m[1]);
      if (!row || row.scheme !== 'sha256' || row.revoked_at !== null) return null;
      if (!timingSafeEqual(sha256(token), row.hash)) return null;
      return this.touch(row);
    }
    const digest = sha256(token);
    let id: string | undefined;
    // Every entry compared, each in constant time: a few entries at most.
    for (const chosen of this.chosen) if (timingSafeEqual(digest, chosen.digest)) id ??= chosen.id;
    if (id === undefined) return null;
    const row = this.byId.get(id);
    return row && row.revoked_at === null ? this.touch(row) : null;
  }

  /**
   * Makes an operator-chosen key usable in this process: one scrypt per active chosen key, at
   * start (`FLEETPULSE_ADMIN_KEY`), then requests compare SHA-256 digests in memory. The key it
   * matches, or null (wrong value, or revoked).
   */
  async admitChosen(value: string): Promise<ApiKeyInfo | null> {
    const rows = this.db
      .prepare(`SELECT ${INFO}, scheme, hash, salt FROM api_keys WHERE scheme = 'scrypt' AND revoked_at IS NULL`)
      .all() as KeyRow[];
    for (const row of rows) {
      if (!timingSafeEqual(await scryptHash(value, row.salt!), row.hash)) continue;
      this.remember(value, row.id);
      return info(row);
    }
    return null;
  }

  /** Active operator-chosen keys this process cannot check (not given at start). */
  unadmittedChosen(): number {
    const ids = this.db
      .prepare(`SELECT id FROM api_keys WHERE scheme = 'scrypt' AND revoked_at IS NULL`)
      .pluck()
      .all() as string[];
    return ids.filter((id) => !this.chosen.some((c) => c.id === id)).length;
  }

  private remember(value: string, id: string): void {
    if (!this.chosen.some((c) => c.id === id)) this.chosen.push({ digest: sha256(value), id });
  }

  /** Records use, at most once a minute per key: a write per request would cost more than the read. */
  private touch(row: KeyRow): ApiKeyInfo {
    const now = this.now();
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
      this.db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(now, row.id);
      row.last_used_at = now;
    }
    return info(row);
  }
}

function info(row: KeyRow): ApiKeyInfo {
  const { scheme: _s, hash: _h, salt: _salt, ...rest } = row;
  return rest;
}

function checkNameAndRole(name: string, role: string): void {
  if (!name.trim()) throw invalid('name', 'name must not be empty');
  if (!(ROLES as readonly string[]).includes(role))
    throw invalid('role', `role must be one of ${ROLES.join(', ')}, got '${role}'`);
}

function scryptHash(value: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(value, salt, 32, SCRYPT, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
