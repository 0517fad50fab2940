import type { Database, Statement } from 'better-sqlite3';
import type { DeviceAudit } from '../sdk/index.ts';
import type { Page } from './customers.ts';

/** `ok`: carried out; `denied`: refused for who the caller is (401, 403, 429); `failed`: anything else. */
export type AuditResult = 'ok' | 'denied' | 'failed';

export interface AuditEntry {
  id: number;
  /** Epoch milliseconds. */
  at: number;
  /** API key id; null for calls without a valid key. */
  actor: string | null;
  actor_name: string | null;
  role: string | null;
  /** What was attempted, e.g. `devices.create`. */
  action: string;
  /** What it was attempted on, e.g. a device id. */
  target: string | null;
  method: string | null;
  path: string | null;
  status: number | null;
  result: AuditResult;
  /** The caller's address. */
  source: string | null;
  details: Record<string, unknown> | null;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at' | 'details'> & {
  at?: number;
  details?: Record<string, unknown> | null;
};

export interface AuditQuery {
  /** Inclusive, epoch ms. */
  from?: number;
  /** Exclusive, epoch ms. */
  to?: number;
  /** A key id or a key name. */
  actor?: string;
  target?: string;
  action?: string;
  /** Entries older than this id (the previous page's last). */
  before?: number;
  limit: number;
}

type AuditRow = Omit<AuditEntry, 'details'> & { details: string | null };

export class AuditLog {
  private readonly insert: Statement;

  constructor(
    private readonly db: Database,
    private readonly now: () => number,
  ) {
    this.insert = db.prepare(
      `INSERT INTO audit (at, actor, actor_name, role, action, target, method, path, status, result, source, details)
       VALUES (@at, @actor, @actor_name, @role, @action, @target, @method, @path, @status, @result, @source, @details)`,
    );
  }

  record(entry: AuditInput): number {
    const info = this.insert.run({
      ...entry,
      at: entry.at ?? this.now(),
      details: entry.details ? JSON.stringify(entry.details) : null,
    });
    return Number(info.lastInsertRowid);
  }

  /** What a device did (a plugin's `ctx.audit`): no key, no route; its name is the actor's. */
  recordDevice(row: DeviceAudit & { at: number; source: string }): number {
    return this.record({
      at: row.at,
      actor: null,
      actor_name: row.device,
      role: null,
      action: row.action,
      target: row.target,
      method: row.method,
      path: null,
      status: null,
      result: 'ok',
      source: row.source,
      details: row.details ?? null,
    });
  }

  /** Newest first. */
  list(query: AuditQuery): Page<AuditEntry> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.from !== undefined) {
      where.push('at >= ?');
      values.push(query.from);
    }
    if (query.to !== undefined) {
      where.push('at < ?');
      values.push(query.to);
    }
    if (query.actor !== undefined) {
      where.push('(actor = ? OR actor_name = ?)');
      values.push(query.actor, query.actor);
    }
    if (query.target !== undefined) {
      where.push('target = ?');
      values.push(query.target);
    }
    if (query.action !== undefined) {
      where.push('action = ?');
      values.push(query.action);
    }
    if (query.before !== undefined) {
      where.push('id < ?');
      values.push(query.before);
    }
    const sql = `SELECT * FROM audit${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...values, query.limit + 1) as AuditRow[];
    return {
      items: rows
        .slice(0, query.limit)
        .map((r) => ({ ...r, details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null })),
      more: rows.length > query.limit,
    };
  }
}
