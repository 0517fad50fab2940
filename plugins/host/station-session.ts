import type { PluginContext } from '../../collector/sdk/index.ts';
import { hostSession } from './measurements.ts';

export type ExpiryAction = 'lock' | 'log_off' | 'none';

interface Row {
  device: string;
  ends_at: number;
  action: ExpiryAction;
  /** `active` until the end was enforced here, then `enforced` (kept, so the server can ask). */
  state: 'active' | 'enforced';
  done_at: number | null;
  /** The last local enforcement failure (retried every 30 s while `active`). */
  error: string | null;
}

/** What `session_status` answers: the station's own record of its last session end. */
export type LocalSessionStatus =
  | { state: 'none' }
  | {
      state: 'active' | 'enforced';
      ends_at_ms: number;
      action: ExpiryAction;
      enforced_at_ms: number | null;
      error: string | null;
    };

const RETRY_MS = 30_000;

/**
 * The station's own copy of its timed session. The server keeps the authoritative end time and
 * enforces it through commands; this copy (in the agent's SQLite file, so it survives an agent
 * restart) lets the station end on time even when the uplink is cut at that moment. An enforced
 * end stays recorded, so the server can ask (`session_status`) whether the station ended a
 * session by itself while it was unreachable, and a re-sent `session_set` of that same end does
 * not lock again.
 */
export class StationSession {
  private timer: NodeJS.Timeout | undefined;
  private enforcing = false;
  /** After a failed enforcement, the next attempt waits until then (ms), so failures do not flood. */
  private nextTry = 0;

  constructor(
    private readonly ctx: PluginContext,
    private readonly device: string,
    private readonly enforce: (action: Exclude<ExpiryAction, 'none'>) => Promise<void>,
  ) {
    ctx.db.exec(
      'CREATE TABLE IF NOT EXISTS host_sessions (device TEXT PRIMARY KEY, ends_at INTEGER NOT NULL, action TEXT NOT NULL)',
    );
    // Added after the first release: an agent upgraded in place keeps its pending session.
    const columns = new Set(
      (ctx.db.prepare('PRAGMA table_info(host_sessions)').all() as Array<{ name: string }>).map((c) => c.name),
    );
    if (!columns.has('state')) ctx.db.exec(`ALTER TABLE host_sessions ADD COLUMN state TEXT NOT NULL DEFAULT 'active'`);
    if (!columns.has('done_at')) ctx.db.exec('ALTER TABLE host_sessions ADD COLUMN done_at INTEGER');
    if (!columns.has('error')) ctx.db.exec('ALTER TABLE host_sessions ADD COLUMN error TEXT');
  }

  start(checkMs = 1000): void {
    this.timer = setInterval(() => void this.check(), checkMs);
    this.timer.unref();
    void this.check();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The session still to be enforced here, if any. */
  current(): Row | undefined {
    const row = this.row();
    return row?.state === 'active' ? row : undefined;
  }

  status(): LocalSessionStatus {
    const row = this.row();
    if (!row) return { state: 'none' };
    return {
      state: row.state,
      ends_at_ms: row.ends_at,
      action: row.action,
      enforced_at_ms: row.done_at,
      error: row.error,
    };
  }

  /** Remembers the end; the same end again after it was enforced changes nothing (no second lock). */
  set(endsAt: number, action: ExpiryAction): LocalSessionStatus {
    const row = this.row();
    if (row?.state === 'enforced' && row.ends_at === endsAt && row.action === action) return this.status();
    this.ctx.db
      .prepare(
        `INSERT INTO host_sessions (device, ends_at, action, state) VALUES (?, ?, ?, 'active')
         ON CONFLICT(device) DO UPDATE SET ends_at = excluded.ends_at, action = excluded.action, state = 'active', done_at = NULL, error = NULL`,
      )
      .run(this.device, endsAt, action);
    this.nextTry = 0;
    this.record('set', endsAt, action);
    void this.check();
    return this.status();
  }

  clear(): boolean {
    const row = this.row();
    if (!row) return false;
    this.ctx.db.prepare('DELETE FROM host_sessions WHERE device = ?').run(this.device);
    // Clearing an end already enforced is bookkeeping, not a stopped session.
    if (row.state === 'active') this.record('cleared', row.ends_at, row.action);
    return true;
  }

  /**
   * At expiry: do the action once and record it; a failure is kept as the row's error and retried
   * 30 s later. Public so tests can drive a moved clock.
   */
  async check(): Promise<void> {
    const row = this.current();
    const now = this.ctx.clock.now();
    if (!row || this.enforcing || now < row.ends_at || now < this.nextTry) return;
    this.enforcing = true;
    try {
      if (row.action !== 'none') await this.enforce(row.action);
      this.ctx.db
        .prepare(
          `UPDATE host_sessions SET state = 'enforced', done_at = ?, error = NULL WHERE device = ? AND ends_at = ? AND state = 'active'`,
        )
        .run(now, this.device, row.ends_at);
      this.record('enforced', row.ends_at, row.action);
      this.ctx.log.info({ endsAt: row.ends_at, action: row.action }, 'session ended: enforced locally');
    } catch (err) {
      const message = (err as Error).message;
      this.nextTry = now + RETRY_MS;
      this.ctx.db
        .prepare(`UPDATE host_sessions SET error = ? WHERE device = ? AND ends_at = ? AND state = 'active'`)
        .run(message, this.device, row.ends_at);
      this.ctx.count('enforce_failed');
      this.record('enforce_failed', row.ends_at, row.action, message);
      this.ctx.log.error({ err: message }, 'session end could not be enforced; retrying in 30 s');
    } finally {
      this.enforcing = false;
    }
  }

  private row(): Row | undefined {
    return this.ctx.db
      .prepare('SELECT device, ends_at, action, state, done_at, error FROM host_sessions WHERE device = ?')
      .get(this.device) as Row | undefined;
  }

  private record(event: string, endsAt: number, action: string, error?: string): void {
    this.ctx.emit(hostSession.name, { event, ends_at_ms: endsAt, action, error }, { device: this.device });
  }
}
