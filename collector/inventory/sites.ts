import type { Database, Statement } from 'better-sqlite3';
import { conflict, invalid, notFound } from './errors.ts';
import { likePattern, type Customers, type Page } from './customers.ts';
import { assignments, uniqueSlug } from './ids.ts';

export interface Site {
  id: string;
  customer: string;
  name: string;
  address: string | null;
  /** IANA time zone, e.g. `Europe/Berlin`: reports cut days and months in it. */
  timezone: string;
  latitude: number | null;
  longitude: number | null;
  created_at: number;
  updated_at: number;
}

export interface SiteInput {
  /** Default: made from the customer and the name (`acme-retail-store-12`). */
  id?: string;
  customer: string;
  name: string;
  address?: string | null;
  /** Default `UTC`. */
  timezone?: string;
  latitude?: number | null;
  longitude?: number | null;
}

export type SitePatch = Partial<Omit<SiteInput, 'id' | 'customer'>>;

const COLUMNS = `id, customer_id AS customer, name, address, timezone, latitude, longitude, created_at, updated_at`;

export class Sites {
  private readonly byId: Statement<[string], Site>;

  constructor(
    private readonly db: Database,
    private readonly customers: Customers,
    private readonly now: () => number,
  ) {
    this.byId = db.prepare(`SELECT ${COLUMNS} FROM sites WHERE id = ?`);
  }

  get(id: string): Site | undefined {
    return this.byId.get(id);
  }

  require(id: string): Site {
    const site = this.get(id);
    if (!site) throw notFound('site', id);
    return site;
  }

  list(opts: { customer?: string; q?: string; after?: string; limit: number }): Page<Site> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (opts.customer !== undefined) {
      where.push('customer_id = ?');
      values.push(opts.customer);
    }
    if (opts.q) {
      where.push(`name LIKE ? ESCAPE '\\'`);
      values.push(likePattern(opts.q));
    }
    if (opts.after !== undefined) {
      where.push('id > ?');
      values.push(opts.after);
    }
    const sql = `SELECT ${COLUMNS} FROM sites ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...values, opts.limit + 1) as Site[];
    return { items: rows.slice(0, opts.limit), more: rows.length > opts.limit };
  }

  create(input: SiteInput): Site {
    return this.db.transaction(() => {
      if (!this.customers.get(input.customer)) {
        throw invalid('customer', `customer '${input.customer}' does not exist`);
      }
      const timezone = input.timezone ?? 'UTC';
      checkTimezone(timezone);
      const id = input.id ?? uniqueSlug(`${input.customer} ${input.name}`, (s) => this.get(s) !== undefined, 'site');
      if (this.get(id)) throw conflict(`site '${id}' already exists`, { site: id }, 'id');
      const now = this.now();
      this.db
        .prepare(
          `INSERT INTO sites (id, customer_id, name, address, timezone, latitude, longitude, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          input.customer,
          input.name,
          input.address ?? null,
          timezone,
          input.latitude ?? null,
          input.longitude ?? null,
          now,
          now,
        );
      return this.require(id);
    })();
  }

  update(id: string, patch: SitePatch): Site {
    return this.db.transaction(() => {
      this.require(id);
      if (patch.name === null) throw invalid('name', 'name cannot be null');
      if (patch.timezone !== undefined) checkTimezone(patch.timezone);
      const set = assignments(patch, {
        name: 'name',
        address: 'address',
        timezone: 'timezone',
        latitude: 'latitude',
        longitude: 'longitude',
      });
      if (set.sql) {
        this.db.prepare(`UPDATE sites SET ${set.sql}, updated_at = ? WHERE id = ?`).run(...set.values, this.now(), id);
      }
      return this.require(id);
    })();
  }

  /** Refused (conflict, nothing deleted) while devices are at the site. */
  delete(id: string): void {
    this.db.transaction(() => {
      this.require(id);
      const { n } = this.db.prepare('SELECT count(*) AS n FROM devices WHERE site_id = ?').get(id) as { n: number };
      if (n > 0) {
        throw conflict(`site '${id}' still has ${n} device(s); move or delete them first`, { site: id, devices: n });
      }
      this.db.prepare('DELETE FROM sites WHERE id = ?').run(id);
    })();
  }
}

export function isTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function checkTimezone(tz: string): void {
  if (!isTimezone(tz)) throw invalid('timezone', `'${tz}' is not an IANA time zone (e.g. Europe/Berlin, UTC)`);
}
