import type { Database } from 'better-sqlite3';

/** One table of history: rows whose time column is older than the cut-off, and ended. */
export interface HistoryTable {
  table: string;
  /** Epoch-ms column the age is read from. */
  at: string;
  /** Only rows that are over (a queued command or an open incident is never history). */
  ended?: string;
}

/**
 * The history the core keeps, pruned after `inventory.history_days`. Children go with their
 * parents by ON DELETE CASCADE (incident_events, rollout_devices). Plugins' own tables (charging
 * sessions, replay ids) are theirs to keep or prune.
 */
export const INVENTORY_HISTORY: readonly HistoryTable[] = [
  { table: 'audit', at: 'at' },
  { table: 'commands', at: 'ended_at', ended: 'ended_at IS NOT NULL' },
  { table: 'incidents', at: 'resolved_at', ended: "status = 'resolved'" },
  { table: 'rollouts', at: 'ended_at', ended: 'ended_at IS NOT NULL' },
  { table: 'recovery_attempts', at: 'at' },
  { table: 'sessions', at: 'ended_at', ended: 'ended_at IS NOT NULL' },
];

/** The spool database's history: lines InfluxDB refused. */
export const SPOOL_HISTORY: readonly HistoryTable[] = [{ table: 'dead_letters', at: 'at' }];

/** Rows deleted per transaction: each one holds the write lock for about a millisecond. */
const BATCH = 500;

/**
 * Deletes history older than `before` (epoch ms) in transactions of at most 500 rows, yielding to
 * the event loop between them, so that API requests and spool commits waiting on the same
 * database never wait behind one long delete. Tables that do not exist (yet) are passed over.
 * Returns the rows deleted per table.
 */
export async function pruneHistory(
  db: Database,
  tables: readonly HistoryTable[],
  before: number,
): Promise<Record<string, number>> {
  const deleted: Record<string, number> = {};
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").pluck();
  for (const t of tables) {
    if (!exists.get(t.table)) continue;
    const where = `${t.at} < ?${t.ended ? ` AND ${t.ended}` : ''}`;
    const del = db.prepare(
      `DELETE FROM ${t.table} WHERE rowid IN (SELECT rowid FROM ${t.table} WHERE ${where} LIMIT ${BATCH})`,
    );
    let n = 0;
    for (;;) {
      const { changes } = del.run(before);
      n += changes;
      if (changes < BATCH) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    deleted[t.table] = n;
  }
  return deleted;
}

export interface HistoryRetentionOptions {
  /** Each database with its history tables. */
  stores: ReadonlyArray<{ db: Database; tables: readonly HistoryTable[] }>;
  days: number;
  /** Told of what each pass deleted. */
  onPruned: (table: string, rows: number) => void;
  onError: (err: Error) => void;
  /** How often to prune, ms. Default hourly (the first pass a minute after start). */
  everyMs?: number;
  clock?: { now(): number };
}

/** Prunes history in the background until stopped. */
export function startHistoryRetention(o: HistoryRetentionOptions): { stop(): void } {
  const clock = o.clock ?? { now: () => Date.now() };
  let running = false;
  const pass = async () => {
    if (running) return;
    running = true;
    try {
      const before = clock.now() - o.days * 86_400_000;
      for (const store of o.stores) {
        for (const [table, rows] of Object.entries(await pruneHistory(store.db, store.tables, before)))
          if (rows) o.onPruned(table, rows);
      }
    } catch (err) {
      o.onError(err as Error);
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void pass(), 60_000);
  const timer = setInterval(() => void pass(), o.everyMs ?? 3_600_000);
  first.unref();
  timer.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
