import type { Database, Statement } from 'better-sqlite3';
import { likePattern } from './customers.ts';
import { canIndex, ftsPhrase } from './device-query.ts';

/** What a text search `q` matched: device rowids by id, and the sites and customers by name. */
export interface NameMatches {
  seqs: number[];
  sites: string[];
  customers: string[];
}

/**
 * Matches `q` against device ids, site names and customer names: the three columns of
 * device_search, but each name once instead of once per device (migration 8). Trigram FTS for
 * 3 characters or more, LIKE for shorter, as device_search is queried (device-query.ts), so a
 * device is found exactly when its device_search row matches. At most `bound` device ids.
 */
export class DeviceSearch {
  private readonly idsIndexed: Statement<[string, number]>;
  private readonly idsLike: Statement<[string, number]>;
  private readonly sitesIndexed: Statement<[string]>;
  private readonly sitesLike: Statement<[string]>;
  private readonly customersIndexed: Statement<[string]>;
  private readonly customersLike: Statement<[string]>;
  private readonly writeId: Statement<[number, string]>;

  constructor(db: Database) {
    const pluck = (sql: string) => db.prepare(sql).pluck();
    this.idsIndexed = pluck('SELECT rowid FROM device_id_search WHERE device_id_search MATCH ? LIMIT ?');
    this.idsLike = pluck("SELECT seq FROM devices WHERE id LIKE ? ESCAPE '\\' LIMIT ?");
    this.sitesIndexed = pluck('SELECT site FROM site_name_search WHERE site_name_search MATCH ?');
    this.sitesLike = pluck("SELECT id FROM sites WHERE name LIKE ? ESCAPE '\\'");
    this.customersIndexed = pluck('SELECT customer FROM customer_name_search WHERE customer_name_search MATCH ?');
    this.customersLike = pluck("SELECT id FROM customers WHERE company LIKE ? ESCAPE '\\'");
    this.writeId = db.prepare('INSERT INTO device_id_search (rowid, id) VALUES (?, ?)');
  }

  match(q: string, bound: number): NameMatches {
    if (canIndex(q)) {
      const phrase = ftsPhrase(q);
      return {
        seqs: this.idsIndexed.all(phrase, bound) as number[],
        sites: this.sitesIndexed.all(phrase) as string[],
        customers: this.customersIndexed.all(phrase) as string[],
      };
    }
    const like = likePattern(q);
    return {
      seqs: this.idsLike.all(like, bound) as number[],
      sites: this.sitesLike.all(like) as string[],
      customers: this.customersLike.all(like) as string[],
    };
  }

  /** A new device's id (ids never change; deletes are a trigger's). */
  addDevice(seq: number, id: string): void {
    this.writeId.run(seq, id);
  }
}
