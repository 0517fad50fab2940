import Database from 'better-sqlite3';

/** Opens (or creates) the runtime's state database: WAL, so a reader never blocks the writer. */
export function openStateDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL survives a killed process (the WAL is in the OS); only a power cut can lose the last
  // commits. `spool.synchronous: full` in the config trades throughput for that case too.
  db.pragma('synchronous = NORMAL');
  return db;
}
