import type Database from 'better-sqlite3';
import { isDiskFull } from '../sdk/errors.ts';

export { isDiskFull };

/** Bytes a probe writes: about what one commit of a few thousand compressed lines needs. */
const PROBE_BYTES = 256 * 1024;

/**
 * Asks the disk whether a commit would fit again: writes a blob of a commit's size in its own
 * transaction and deletes it in another. A rolled-back write proves nothing (SQLite writes pages
 * at commit); the deleted blob's pages stay in the file's free list, ready for the next commit.
 */
export class DiskProbe {
  constructor(private readonly db: Database.Database) {}

  /** True when the write succeeded; throws errors that are not a full disk. */
  fits(): boolean {
    try {
      // Created here, not at start: a spool opened on a full disk must open.
      this.db.exec('CREATE TABLE IF NOT EXISTS spool_probe (blob BLOB NOT NULL)');
      // A probe that failed half way may have left its blob: remove it first.
      this.db.exec('DELETE FROM spool_probe');
      this.db.prepare('INSERT INTO spool_probe (blob) VALUES (zeroblob(?))').run(PROBE_BYTES);
      this.db.exec('DELETE FROM spool_probe');
      return true;
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      return false;
    }
  }
}

/** The log lines of a spool's disk-full state (serve's spool, the agent's outbox). */
export function diskFullLog(
  log: { error(o: object, m: string): void; info(m: string): void },
  full: boolean,
  err?: Error,
): void {
  if (full)
    log.error(
      { err: err?.message, code: (err as { code?: string } | undefined)?.code },
      'disk full: new points are refused (counted as disk_full) until a write succeeds; the spool keeps draining',
    );
  else log.info('disk full no more: points are taken again');
}
