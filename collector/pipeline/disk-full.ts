import { statfsSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { isDiskFull } from '../sdk/errors.ts';

export { isDiskFull };

/** Bytes a probe writes: about what one commit of a few thousand compressed lines needs. */
const PROBE_BYTES = 256 * 1024;

/**
 * Raised instead of a commit that would eat into the disk's reserve (`DiskProbe.keepsReserve`);
 * the spool treats it as a full disk.
 */
export class DiskReserveReached extends Error {
  readonly code = 'DISK_RESERVE';
  constructor(freeBytes: number, reserveBytes: number) {
    super(`${freeBytes} bytes free on the disk, below the reserve of ${reserveBytes} bytes`);
    this.name = 'DiskReserveReached';
  }
}

/**
 * Asks the disk whether a commit would fit again: writes a blob of a commit's size in its own
 * transaction and deletes it in another. A rolled-back write proves nothing (SQLite writes pages
 * at commit); the deleted blob's pages stay in the file's free list, ready for the next commit.
 *
 * With a reserve, the spool stops before the disk is full. Measured on a full tmpfs: the drain's
 * deletes need WAL space too (a new WAL after a restart, WAL frames until a checkpoint), so on a
 * disk with no byte left the drain could never free room and the state never ended; nor could
 * the inventory or the data-dir lock write.
 */
export class DiskProbe {
  private readonly dir: string;

  constructor(
    private readonly db: Database.Database,
    /** Bytes of the file system that commits leave free; 0: none. */
    private readonly reserveBytes = 0,
    /** Free bytes of the file system holding the database (statfs); undefined when unknown. */
    private readonly diskFree: () => number | undefined = () => freeBytes(this.dir),
  ) {
    this.dir = path.dirname(db.name);
  }

  /**
   * Whether about `bytes` more can be committed without touching the reserve: they fit in the
   * file's free pages (left by acknowledged rows), or the disk has that much above the reserve.
   */
  keepsReserve(bytes: number): DiskReserveReached | undefined {
    if (this.reserveBytes <= 0) return undefined;
    const free = this.diskFree();
    if (free === undefined || free - bytes >= this.reserveBytes) return undefined;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    if ((this.db.pragma('freelist_count', { simple: true }) as number) * pageSize >= bytes) return undefined;
    return new DiskReserveReached(free, this.reserveBytes);
  }

  /** True when the write succeeded; throws errors that are not a full disk. */
  fits(): boolean {
    if (this.keepsReserve(PROBE_BYTES)) return false;
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

function freeBytes(dir: string): number | undefined {
  try {
    const fs = statfsSync(dir);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}
