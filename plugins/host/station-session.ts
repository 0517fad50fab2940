import type { PluginContext } from '../../collector/sdk/index.ts';
import { hostSession } from './metrics.ts';

export type ExpiryAction = 'lock' | 'log_off' | 'none';

interface Row {
  device: string;
  ends_at: number;
  action: ExpiryAction;
}

/**
 * The station's own copy of its timed session. The server keeps the authoritative end time and
 * enforces it through commands; this copy (in the agent's SQLite file, so it survives an agent
 * restart) lets the station end on time even when the uplink is cut at that moment.
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
    ctx.db.exec('CREATE TABLE IF NOT EXISTS host_sessions (device TEXT PRIMARY KEY, ends_at INTEGER NOT NULL, action TEXT NOT NULL)');
  }

  start(checkMs = 1000): void {
    this.timer = setInterval(() => void this.check(), checkMs);
    this.timer.unref();
    void this.check();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  current(): Row | undefined {
    return this.ctx.db.prepare('SELECT device, ends_at, action FROM host_sessions WHERE device = ?').get(this.device) as Row | undefined;
  }

  set(endsAt: number, action: ExpiryAction): void {
    this.ctx.db
      .prepare('INSERT INTO host_sessions VALUES (?, ?, ?) ON CONFLICT(device) DO UPDATE SET ends_at = excluded.ends_at, action = excluded.action')
      .run(this.device, endsAt, action);
    this.record('set', endsAt, action);
    void this.check();
  }

  clear(): boolean {
    const row = this.current();
    if (!row) return false;
    this.ctx.db.prepare('DELETE FROM host_sessions WHERE device = ?').run(this.device);
    this.record('cleared', row.ends_at, row.action);
    return true;
  }

  /** At expiry: do the action once, record it, forget the session. A failure is retried next tick. */
  private async check(): Promise<void> {
    const row = this.current();
    const now = this.ctx.clock.now();
    if (!row || this.enforcing || now < row.ends_at || now < this.nextTry) return;
    this.enforcing = true;
    try {
      if (row.action !== 'none') await this.enforce(row.action);
      this.ctx.db.prepare('DELETE FROM host_sessions WHERE device = ? AND ends_at = ?').run(this.device, row.ends_at);
      this.record('enforced', row.ends_at, row.action);
      this.ctx.log.info({ endsAt: row.ends_at, action: row.action }, 'session ended: enforced locally');
    } catch (err) {
      this.nextTry = now + 30_000;
      this.ctx.count('enforce_failed');
      this.record('enforce_failed', row.ends_at, row.action, (err as Error).message);
      this.ctx.log.error({ err: (err as Error).message }, 'session end could not be enforced; retrying in 30 s');
    } finally {
      this.enforcing = false;
    }
  }

  private record(event: string, endsAt: number, action: string, error?: string): void {
    this.ctx.emit(hostSession.name, { event, ends_at_ms: endsAt, action, error }, { device: this.device });
  }
}
