import type Database from 'better-sqlite3';

/**
 * The RFID / id-token list: which tags may charge, until when, and for which customer's chargers.
 * A tag with a customer is valid only on chargers of that customer; a tag without one is valid on
 * every charger (fleet cards, service staff).
 */
export interface IdTagRow {
  id_tag: string;
  status: 'accepted' | 'blocked';
  expires_at: number | null;
  customer: string | null;
  parent_id_tag: string | null;
  note: string | null;
  created_at: number;
  updated_at: number;
}

/** The verdict in OCPP's words (1.6 AuthorizationStatus; 2.0.1 adds Unknown). */
export type TagStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'Unknown' | 'NotAtThisTime';

export interface TagVerdict {
  status: TagStatus;
  expiresAt?: number;
  parentIdTag?: string;
}

export class IdTags {
  private readonly get: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS ocpp_id_tags (
      id_tag TEXT PRIMARY KEY, status TEXT NOT NULL CHECK (status IN ('accepted', 'blocked')),
      expires_at INTEGER, customer TEXT, parent_id_tag TEXT, note TEXT,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS ocpp_id_tags_customer ON ocpp_id_tags (customer, id_tag);`);
    this.get = db.prepare('SELECT * FROM ocpp_id_tags WHERE id_tag = ?');
  }

  /**
   * Decides whether `idTag` may charge on a charger of `chargerCustomer` at `now`. OCPP compares
   * id tags case-insensitively in 2.0.1 and most 1.6 chargers send them upper-case hex: tags are
   * stored and looked up upper-case.
   */
  authorize(
    idTag: string,
    chargerCustomer: string | undefined,
    now: number,
    unknownStatus: 'Invalid' | 'Unknown',
  ): TagVerdict {
    const row = this.get.get(idTag.toUpperCase()) as IdTagRow | undefined;
    if (!row) return { status: unknownStatus };
    const extra = {
      ...(row.expires_at !== null ? { expiresAt: row.expires_at } : {}),
      ...(row.parent_id_tag ? { parentIdTag: row.parent_id_tag } : {}),
    };
    if (row.status === 'blocked') return { status: 'Blocked', ...extra };
    if (row.expires_at !== null && row.expires_at <= now) return { status: 'Expired', ...extra };
    if (row.customer !== null && row.customer !== chargerCustomer) return { status: 'Invalid' };
    return { status: 'Accepted', ...extra };
  }

  list(filter: { customer?: string; after?: string; limit: number }): IdTagRow[] {
    return this.db
      .prepare(
        `SELECT * FROM ocpp_id_tags WHERE (@customer IS NULL OR customer = @customer) AND (@after IS NULL OR id_tag > @after)
         ORDER BY id_tag LIMIT @limit`,
      )
      .all({ customer: filter.customer ?? null, after: filter.after ?? null, limit: filter.limit }) as IdTagRow[];
  }

  /** Every tag that may charge on a charger of `customer`: the customer's own and those of no customer. */
  validOn(customer: string | undefined): IdTagRow[] {
    return this.db
      .prepare('SELECT * FROM ocpp_id_tags WHERE customer IS NULL OR customer = ? ORDER BY id_tag')
      .all(customer ?? null) as IdTagRow[];
  }

  one(idTag: string): IdTagRow | undefined {
    return this.get.get(idTag.toUpperCase()) as IdTagRow | undefined;
  }

  put(tag: Omit<IdTagRow, 'created_at' | 'updated_at'>, now: number): IdTagRow {
    this.db
      .prepare(
        `INSERT INTO ocpp_id_tags (id_tag, status, expires_at, customer, parent_id_tag, note, created_at, updated_at)
         VALUES (@id_tag, @status, @expires_at, @customer, @parent_id_tag, @note, @now, @now)
         ON CONFLICT (id_tag) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at, customer = excluded.customer,
           parent_id_tag = excluded.parent_id_tag, note = excluded.note, updated_at = excluded.updated_at`,
      )
      .run({ ...tag, id_tag: tag.id_tag.toUpperCase(), now });
    return this.one(tag.id_tag)!;
  }

  remove(idTag: string): boolean {
    return this.db.prepare('DELETE FROM ocpp_id_tags WHERE id_tag = ?').run(idTag.toUpperCase()).changes > 0;
  }
}

/** 1.6 IdTagInfo / 2.0.1 IdTokenInfo from a verdict. */
export function idTagInfo(v: TagVerdict, version: 'ocpp1.6' | 'ocpp2.0.1'): Record<string, unknown> {
  const expiry = v.expiresAt !== undefined ? new Date(v.expiresAt).toISOString() : undefined;
  if (version === 'ocpp1.6') {
    return {
      status: v.status === 'Unknown' || v.status === 'NotAtThisTime' ? 'Invalid' : v.status,
      ...(expiry ? { expiryDate: expiry } : {}),
      ...(v.parentIdTag ? { parentIdTag: v.parentIdTag } : {}),
    };
  }
  return {
    status: v.status,
    ...(expiry ? { cacheExpiryDateTime: expiry } : {}),
    ...(v.parentIdTag ? { groupIdToken: { idToken: v.parentIdTag, type: 'Central' } } : {}),
  };
}
