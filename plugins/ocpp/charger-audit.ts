import type Database from 'better-sqlite3';

/**
 * An audit row for what a charger did (not an API caller): the inventory's `audit` table, which
 * the plugin's database is in `serve`. The plugin context has no audit writer yet; this is the one
 * place that writes the table's columns, so that it can become one. Without the table (a process
 * with no inventory) the row is only logged by the caller.
 */
export function auditCharger(
  db: Database.Database,
  entry: { at: number; charger: string; action: string; target: string; method: string; details: object },
): boolean {
  try {
    db.prepare(
      `INSERT INTO audit (at, actor, actor_name, role, action, target, method, path, status, result, source, details)
       VALUES (?, NULL, ?, NULL, ?, ?, ?, NULL, NULL, 'ok', ?, ?)`,
    ).run(
      entry.at,
      entry.charger,
      entry.action,
      entry.target,
      entry.method,
      `ocpp:${entry.charger}`,
      JSON.stringify(entry.details),
    );
    return true;
  } catch {
    return false;
  }
}
