import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';

/**
 * Copies a live database into `toFile` with SQLite's online backup API. All pages are copied
 * in one step, i.e. in one read transaction: the copy is one consistent snapshot, and writers
 * (WAL mode) are not blocked meanwhile. Copying in many small steps would restart every time
 * another connection writes, and never finish under a steady write load.
 *
 * The copy is written beside the target and renamed into place, so `toFile` is either the
 * old file or a complete new one. It is checked with `PRAGMA quick_check` before the rename.
 */
export async function backupDatabase(source: Database | string, toFile: string): Promise<{ pages: number }> {
  const target = path.resolve(toFile);
  const partial = `${target}.partial-${process.pid}`;
  const db = typeof source === 'string' ? new BetterSqlite3(source, { readonly: true, fileMustExist: true }) : source;
  try {
    if (typeof source === 'string') db.pragma('busy_timeout = 5000');
    rmSync(partial, { force: true });
    const result = await db.backup(partial, { progress: () => 0x7fffffff });
    const copy = new BetterSqlite3(partial);
    try {
      const check = copy.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`backup copy failed its integrity check: ${String(check)}`);
      // A copy opened later on its own should not need the WAL: fold it into the main file.
      copy.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      copy.close();
    }
    renameSync(partial, target);
    for (const suffix of ['-wal', '-shm']) rmSync(`${partial}${suffix}`, { force: true });
    return { pages: result.totalPages };
  } catch (err) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${partial}${suffix}`, { force: true });
    throw err;
  } finally {
    if (typeof source === 'string') db.close();
  }
}
