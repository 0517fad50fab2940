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

/**
 * The same full disk for any other database on it (the inventory beside the spool): the file may
 * not grow, and the room left inside it is taken by a table of its own, so the next write that
 * needs a page fails with SQLITE_FULL. Returns the function that frees the disk again.
 */
export function fillDatabase(db: Database.Database): () => void {
  db.exec('CREATE TABLE IF NOT EXISTS disk_filler (blob BLOB NOT NULL)');
  const unlimited = db.pragma('max_page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  const insert = db.prepare('INSERT INTO disk_filler (blob) VALUES (randomblob(?))');
  for (const size of [65_536, 4096, 512, 64, 1]) {
    try {
      for (;;) insert.run(size);
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_FULL') throw err;
    }
  }
  return () => void db.pragma(`max_page_count = ${unlimited}`);
}
