import type Database from 'better-sqlite3';

/**
 * Event ids a back office already delivered, kept for a bounded time in the plugin's table
 * `pos_events_seen`. Ids are remembered only after their points are in the durable spool, so a
 * crash between the two makes the back office's retry write them again (at least once); two
 * copies in flight at once both write, and their points, stamped with the event's time, overwrite
 * each other in InfluxDB (counted once).
 */
export class ReplayGuard {
  private readonly has: Database.Statement<[string, string]>;
  private readonly insert: Database.Statement<[string, string, number]>;
  private readonly prune: Database.Statement<[number]>;
  private readonly rememberAll: (sender: string, ids: string[], now: number) => void;

  constructor(
    db: Database.Database,
    /** How long an id is remembered, ms. */
    private readonly retentionMs: number,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS pos_events_seen (
        sender TEXT NOT NULL, id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (sender, id)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS pos_events_seen_at ON pos_events_seen (at);`);
    this.has = db.prepare('SELECT 1 FROM pos_events_seen WHERE sender = ? AND id = ?');
    this.insert = db.prepare('INSERT OR IGNORE INTO pos_events_seen (sender, id, at) VALUES (?, ?, ?)');
    this.prune = db.prepare('DELETE FROM pos_events_seen WHERE at < ?');
    this.rememberAll = db.transaction((sender: string, ids: string[], now: number) => {
      for (const id of ids) this.insert.run(sender, id, now);
    });
  }

  /** Whether this sender delivered the event id before and it is not forgotten yet (see `forgetOld`). */
  seen(sender: string, id: string): boolean {
    return this.has.get(sender, id) !== undefined;
  }

  remember(sender: string, ids: string[], now: number): void {
    if (ids.length > 0) this.rememberAll(sender, ids, now);
  }

  /**
   * Forgets ids first delivered more than the retention before `now` (a replay does not renew them); returns how many.
   */
  forgetOld(now: number): number {
    return this.prune.run(now - this.retentionMs).changes;
  }
}
