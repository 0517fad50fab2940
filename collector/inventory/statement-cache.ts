import type { Database, Statement } from 'better-sqlite3';

/**
 * Prepared statements by SQL text, for queries built from a filter: the combinations are few,
 * and preparing one again on every request costs more than running it (the device and incident lists).
 */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(
    private readonly db: Database,
    /** Past this many, the cache starts again: a caller that builds unbounded SQL cannot grow it. Default 512. */
    private readonly max = 512,
  ) {}

  /** The statement for `sql`; `pluck` ones answer the first column only. */
  get(sql: string, opts: { pluck?: boolean } = {}): Statement {
    const key = opts.pluck ? `pluck ${sql}` : sql;
    let stmt = this.statements.get(key);
    if (!stmt) {
      if (this.statements.size >= this.max) this.statements.clear();
      stmt = this.db.prepare(sql);
      if (opts.pluck) stmt.pluck();
      this.statements.set(key, stmt);
    }
    return stmt;
  }
}
