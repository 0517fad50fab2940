import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Spool } from '../../collector/pipeline/spool.ts';

/**
 * Makes the disk under a spool full, as SQLite sees it: the spool is filled with incompressible
 * lines, then the file may not grow (`max_page_count`), so the next commit fails with the real
 * SQLITE_FULL a full disk gives. Returns the function that frees the disk again.
 */
export function fillDisk(spool: Spool, db: Database.Database): () => void {
  for (let i = 0; i < 500; i++)
    spool.append(`filler,device=disk v="${randomBytes(400).toString('hex')}" ${1_600_000_000_000 + i}`);
  spool.commit();
  const unlimited = db.pragma('max_page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  return () => void db.pragma(`max_page_count = ${unlimited}`);
}
