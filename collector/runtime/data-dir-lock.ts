/**
 * One owner per data dir: `serve` and `agent` hold an SQLite write lock on `<data_dir>/.lock`
 * for as long as they run. SQLite's locks are POSIX record locks, which the kernel drops when the
 * process dies (kill -9 included), so a crash leaves nothing to clean up, unlike a pid file; no
 * child process (`flock(1)`) and no native add-on beyond better-sqlite3, which we already have.
 *
 * Why a held `BEGIN IMMEDIATE` (a RESERVED lock) and not `locking_mode=EXCLUSIVE`: RESERVED
 * refuses other writers but lets readers in, so the instance that is refused can still read the
 * holder's pid (and the embedded influxd's) from the same file, and name it.
 */
import Database from 'better-sqlite3';
import path from 'node:path';

export class DataDirLocked extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number | undefined,
  ) {
    super(
      `${dataDir} is in use by another fleetpulse process (pid ${holderPid ?? 'unknown'}); stop it first, or choose another data_dir`,
    );
    this.name = 'DataDirLocked';
  }
}

export interface DataDirLock {
  readonly path: string;
  /** Releases the lock (closing the file does it; so does the process dying). */
  release(): void;
}

const LOCK_FILE = '.lock';

/** Takes the lock or throws `DataDirLocked` naming the holder. Never waits. */
export function lockDataDir(dataDir: string, pid = process.pid): DataDirLock {
  const file = path.join(dataDir, LOCK_FILE);
  const db = new Database(file);
  try {
    // Rollback journal: in WAL mode readers would not see who holds it, and no -shm is needed.
    db.pragma('journal_mode = DELETE');
    db.exec(
      'CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, since INTEGER NOT NULL)',
    );
    // Write our pid, commit it so that others can read it, then hold the write lock. Between
    // the commit and the second BEGIN another process may slip in: then the pid read back under
    // the lock is not ours, and we give the lock to it and try again (it wins or we meet it
    // holding the lock on the next round).
    for (let round = 0; ; round++) {
      db.pragma('busy_timeout = 0');
      if (!tryBegin(db)) throw new DataDirLocked(dataDir, holder(db));
      db.prepare(
        'INSERT INTO owner (id, pid, since) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, since = excluded.since',
      ).run(pid, Date.now());
      db.exec('COMMIT');
      if (!tryBegin(db)) throw new DataDirLocked(dataDir, holder(db));
      if (holder(db) === pid) break;
      db.exec('ROLLBACK');
      if (round >= 20) throw new DataDirLocked(dataDir, holder(db));
    }
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
    throw err;
  }
  return {
    path: file,
    release: () => {
      if (db.open) db.close();
    },
  };
}

function tryBegin(db: Database.Database): boolean {
  try {
    db.exec('BEGIN IMMEDIATE');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw err;
  }
}

/** The pid recorded by the holder; a reader may meet the holder's commit, so it waits briefly. */
function holder(db: Database.Database): number | undefined {
  db.pragma('busy_timeout = 1000');
  try {
    return (db.prepare('SELECT pid FROM owner WHERE id = 1').pluck().get() as number | undefined) ?? undefined;
  } catch {
    return undefined;
  } finally {
    db.pragma('busy_timeout = 0');
  }
}
