import type { Database, Statement } from 'better-sqlite3';
import { StatementCache } from '../inventory/statement-cache.ts';
import type { CommandStatus } from './command-bus.ts';

/** A durable command's state: `queued` and `sent` are the only non-terminal ones. */
export type DurableStatus = 'queued' | 'sent' | CommandStatus;
export const TERMINAL: readonly DurableStatus[] = [
  'succeeded',
  'failed',
  'rejected',
  'expired',
  'timed_out',
  'cancelled',
];
/** Who created a command. */
export type CommandSource = 'api' | 'rollout' | 'recovery';

export interface CommandRecord {
  id: string;
  device: string;
  kind: string;
  name: string;
  params: Record<string, unknown>;
  status: DurableStatus;
  source: CommandSource;
  created_by: string | null;
  /** Overrides the plugin's declared timeout, s. */
  timeout_s: number | null;
  /** Epoch ms, like every time below. */
  created_at: number;
  expires_at: number;
  sent_at: number | null;
  ended_at: number | null;
  result: unknown;
  error: string | null;
}

export interface CommandFilter {
  device?: string;
  status?: DurableStatus;
  name?: string;
  source?: CommandSource;
  /** Commands created before this one (the previous page's last id), newest first. */
  before?: { created_at: number; id: string };
  limit: number;
}

type Row = Omit<CommandRecord, 'params' | 'result'> & { params: string; result: string | null };

/** The `commands` table (inventory migration 4). All writes are single statements: atomic. */
export class CommandStore {
  private readonly insertRow: Statement;
  private readonly byId: Statement<[string], Row>;
  private readonly markSent: Statement;
  private readonly finishRow: Statement;
  private readonly requeueRow: Statement<[string]>;
  /** The list's statements, by filter: the device page asks the same one on every load. */
  private readonly statements: StatementCache;

  constructor(private readonly db: Database) {
    this.statements = new StatementCache(db);
    this.insertRow = db.prepare(
      `INSERT INTO commands (id, device, kind, name, params, status, source, created_by, timeout_s, created_at, expires_at)
       VALUES (@id, @device, @kind, @name, @params, 'queued', @source, @created_by, @timeout_s, @created_at, @expires_at)`,
    );
    this.byId = db.prepare('SELECT * FROM commands WHERE id = ?');
    this.markSent = db.prepare("UPDATE commands SET status = 'sent', sent_at = ? WHERE id = ? AND status = 'queued'");
    this.requeueRow = db.prepare(
      "UPDATE commands SET status = 'queued', sent_at = NULL WHERE id = ? AND status = 'sent'",
    );
    this.finishRow = db.prepare(
      `UPDATE commands SET status = ?, ended_at = ?, result = ?, error = ? WHERE id = ? AND status IN ('queued', 'sent')`,
    );
  }

  insert(rows: readonly CommandRecord[]): void {
    this.db.transaction(() => {
      for (const r of rows) this.insertRow.run({ ...r, params: JSON.stringify(r.params) });
    })();
  }

  get(id: string): CommandRecord | undefined {
    const row = this.byId.get(id);
    return row && toRecord(row);
  }

  /** queued → sent; false when the command is no longer queued (cancelled, expired meanwhile). */
  claim(id: string, at: number): boolean {
    return this.markSent.run(at, id).changes === 1;
  }

  /** sent → queued, when the device turned out not to be attached before anything reached it. */
  requeue(id: string): boolean {
    return this.requeueRow.run(id).changes === 1;
  }

  /** → a terminal state; false when it already had one (exactly one terminal state per command). */
  finish(id: string, status: DurableStatus, at: number, result: unknown, error: string | null): boolean {
    return (
      this.finishRow.run(status, at, result === undefined ? null : JSON.stringify(result), error, id).changes === 1
    );
  }

  /**
   * Queued commands in the order they were created, for the dispatcher. The order is the rowid:
   * SQLite gives each insert one above the largest (rows are never deleted, and `create` inserts
   * in the caller's order in one transaction), where `created_at, id` would order two commands of
   * the same millisecond by their random ids. (VACUUM may renumber rowids; nothing here runs it.)
   */
  queued(limit: number): Array<Pick<CommandRecord, 'id' | 'device' | 'expires_at'>> {
    return this.db
      .prepare("SELECT id, device, expires_at FROM commands WHERE status = 'queued' ORDER BY rowid LIMIT ?")
      .all(limit) as Array<Pick<CommandRecord, 'id' | 'device' | 'expires_at'>>;
  }

  /** Ids in a status, e.g. `sent` rows left by a process that stopped. */
  idsIn(status: DurableStatus): string[] {
    return this.db.prepare('SELECT id FROM commands WHERE status = ?').pluck().all(status) as string[];
  }

  list(filter: CommandFilter): { items: CommandRecord[]; more: boolean } {
    const where: string[] = [];
    const values: unknown[] = [];
    for (const key of ['device', 'status', 'name', 'source'] as const) {
      if (filter[key] !== undefined) {
        where.push(`${key} = ?`);
        values.push(filter[key]);
      }
    }
    if (filter.before) {
      where.push('(created_at < ? OR (created_at = ? AND id < ?))');
      values.push(filter.before.created_at, filter.before.created_at, filter.before.id);
    }
    const sql = `SELECT * FROM commands${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.statements.get(sql).all(...values, filter.limit + 1) as Row[];
    return { items: rows.slice(0, filter.limit).map(toRecord), more: rows.length > filter.limit };
  }
}

function toRecord(row: Row): CommandRecord {
  return {
    ...row,
    params: JSON.parse(row.params) as Record<string, unknown>,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
  };
}
