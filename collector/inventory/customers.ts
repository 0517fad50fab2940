import type { Database, Statement } from 'better-sqlite3';
import { conflict, invalid, notFound } from './errors.ts';
import { assignments, uniqueSlug } from './ids.ts';

export const CONTRACTS = ['basic', 'standard', 'premium'] as const;
export type Contract = (typeof CONTRACTS)[number];

export interface Customer {
  id: string;
  company: string;
  contact_name: string | null;
  email: string | null;
  phone: string | null;
  contract: Contract;
  created_at: number;
  updated_at: number;
}

export interface CustomerInput {
  /** Default: made from `company` (`Acme Retail` → `acme-retail`). */
  id?: string;
  company: string;
  contact_name?: string | null;
  email?: string | null;
  phone?: string | null;
  /** Default `standard`. */
  contract?: Contract;
}

export type CustomerPatch = Partial<Omit<CustomerInput, 'id'>>;

export interface Page<T> {
  items: T[];
  /** More rows follow the last one. */
  more: boolean;
}

export class Customers {
  private readonly byId: Statement<[string], Customer>;

  constructor(
    private readonly db: Database,
    private readonly now: () => number,
    /** Told when a customer's contract changes (the device records carry it). */
    private readonly contractChanged: (id: string) => void = () => {},
  ) {
    this.byId = db.prepare('SELECT * FROM customers WHERE id = ?');
  }

  get(id: string): Customer | undefined {
    return this.byId.get(id);
  }

  require(id: string): Customer {
    const customer = this.get(id);
    if (!customer) throw notFound('customer', id);
    return customer;
  }

  /** By id; `q` matches the company name (case-insensitive substring). */
  list(opts: { q?: string; after?: string; limit: number }): Page<Customer> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (opts.q) {
      where.push(`company LIKE ? ESCAPE '\\'`);
      values.push(likePattern(opts.q));
    }
    if (opts.after !== undefined) {
      where.push('id > ?');
      values.push(opts.after);
    }
    const sql = `SELECT * FROM customers ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ?`;
    const rows = this.db.prepare(sql).all(...values, opts.limit + 1) as Customer[];
    return { items: rows.slice(0, opts.limit), more: rows.length > opts.limit };
  }

  create(input: CustomerInput): Customer {
    return this.db.transaction(() => {
      const id = input.id ?? uniqueSlug(input.company, (c) => this.get(c) !== undefined, 'customer');
      if (this.get(id)) throw conflict(`customer '${id}' already exists`, { customer: id }, 'id');
      const now = this.now();
      this.db
        .prepare(
          `INSERT INTO customers (id, company, contact_name, email, phone, contract, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          input.company,
          input.contact_name ?? null,
          input.email ?? null,
          input.phone ?? null,
          input.contract ?? 'standard',
          now,
          now,
        );
      return this.require(id);
    })();
  }

  update(id: string, patch: CustomerPatch): Customer {
    return this.db.transaction(() => {
      this.require(id);
      if (patch.company === null) throw invalid('company', 'company cannot be null');
      const set = assignments(patch, {
        company: 'company',
        contact_name: 'contact_name',
        email: 'email',
        phone: 'phone',
        contract: 'contract',
      });
      if (set.sql) {
        this.db
          .prepare(`UPDATE customers SET ${set.sql}, updated_at = ? WHERE id = ?`)
          .run(...set.values, this.now(), id);
      }
      if (patch.contract !== undefined) this.contractChanged(id);
      return this.require(id);
    })();
  }

  /**
   * Deletes a customer and its sites. Refused (conflict, nothing deleted) while any device
   * still belongs to the customer or one of its sites: move or delete those first.
   */
  delete(id: string): void {
    this.db.transaction(() => {
      this.require(id);
      const devices = this.db
        .prepare(
          `SELECT id FROM devices
           WHERE customer_id = ? OR site_id IN (SELECT id FROM sites WHERE customer_id = ?)
           ORDER BY id LIMIT 5`,
        )
        .all(id, id) as { id: string }[];
      if (devices.length > 0) {
        const { n } = this.db
          .prepare(
            `SELECT count(*) AS n FROM devices
             WHERE customer_id = ? OR site_id IN (SELECT id FROM sites WHERE customer_id = ?)`,
          )
          .get(id, id) as { n: number };
        throw conflict(`customer '${id}' still has ${n} device(s); move or delete them first`, {
          customer: id,
          devices: n,
          examples: devices.map((d) => d.id),
        });
      }
      this.db.prepare('DELETE FROM customers WHERE id = ?').run(id);
    })();
  }
}

/** A LIKE pattern matching `text` anywhere, with LIKE's own wildcards escaped. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
}
