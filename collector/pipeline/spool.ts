import zlib from 'node:zlib';
import type Database from 'better-sqlite3';
import { PointsRefused } from '../sdk/errors.ts';
import { DiskProbe, DiskReserveReached, isDiskFull } from './disk-full.ts';
import { gzipLines, type PackedLines } from './writer.ts';

export type WhenFull = 'drop_oldest' | 'drop_newest';

/** Why a sink did not take a line (it counted the loss itself). One union, so a new reason is one line. */
export type SinkRefusal = 'spool_full' | 'disk_full';

/** Lines stored together in one row unless the spool is told otherwise. */
export const DEFAULT_LINES_PER_ROW = 500;

export interface SpoolOptions {
  /** SQLite file; shared with other runtime state (liveness) of the same process. */
  db: Database.Database;
  /** Upper bound of the line text held, in characters (= bytes for ASCII lines). Default 1 GiB. */
  maxBytes?: number;
  /**
   * What happens to a point that does not fit: `drop_oldest` (default) keeps the newest data,
   * which is what a NOC looks at; `drop_newest` keeps history intact and refuses new points.
   * Either way every dropped point is counted.
   */
  whenFull?: WhenFull;
  /** Emitted lines are committed in one transaction at least this often (ms). Default 50. */
  commitIntervalMs?: number;
  /**
   * ...or as soon as this many lines are waiting. Default 5,000. Waiting lines are held as text
   * only until their row fills, then compressed (see `packed`): lines kept as strings until the
   * commit were copied by the young-generation collections and promoted on the way.
   */
  commitLines?: number;
  /**
   * Lines stored in one row, default 500. A row is the unit of reading, acknowledging and of
   * dropping when full, so it must not exceed the drain's batch size. One row per line cost three
   * times the CPU per point (inserts, reads and deletes per row), CPU that InfluxDB on the same
   * machine needs for the writes.
   */
  linesPerRow?: number;
  /** Called with the number of points dropped or refused, and why (`spool_full`, `disk_full`). */
  onDrop?: (count: number, reason: SinkRefusal) => void;
  /** Called when the disk-full state begins (with SQLite's error) and when it ends. */
  onDiskFull?: (full: boolean, err?: Error) => void;
  /** How often a full disk is probed for room again, ms. Default 1,000. */
  diskProbeMs?: number;
  /**
   * Bytes of the disk that commits leave free (see `DiskProbe`): below it new points are refused
   * as `disk_full`, and SQLite keeps room to acknowledge, checkpoint and restart. Default 0.
   */
  diskReserveBytes?: number;
  /** For tests: the disk's free bytes. Default: statfs of the database's directory. */
  diskFree?: () => number | undefined;
}

/**
 * A row holds its lines, each followed by `\n`, gzip-compressed (`line`), each line's length in
 * characters (`lengths`, uint32 LE: a string field may itself contain a newline, so the text alone
 * cannot be split again) and their total (`chars`).
 *
 * Compressed once, when committed: an HTTP writer posts a batch's rows as they are, since gzip
 * members may follow each other in one body and InfluxDB reads them as one stream. Storing the
 * text instead cost SQLite ten times the bytes, and the writer a join and a gzip per batch: about
 * a third of the pipeline's CPU, taken from InfluxDB on a shared machine.
 *
 * Rows written by earlier versions are still read: `line` as TEXT without the trailing `\n`,
 * several lines with `lengths`, one line without.
 */
const POINTS = 'COALESCE(LENGTH(lengths) / 4, 1)';
/** Characters of the row's lines, without the separators. */
const BYTES = `COALESCE(chars, LENGTH(line) - ${POINTS} + 1)`;

/**
 * The durable queue between emit and the writer: a SQLite table in WAL mode. A point counts as
 * accepted once its transaction commits; it leaves the spool only when the writer has stored it
 * or dead-lettered it. Emitted lines wait in memory for at most one commit interval so that
 * commits are grouped (one transaction per few thousand points, not per point).
 */
export class Spool {
  readonly linesPerRow: number;
  private readonly db: Database.Database;
  private readonly maxBytes: number;
  private readonly whenFull: WhenFull;
  private readonly commitLines: number;
  /**
   * Waiting lines: rows packed as they fill (joined and compressed while their lines are young:
   * a line kept until the commit is copied by each young-generation GC on the way and promoted,
   * and joining such lines cost a third of the CPU of emit and spool), and the row being filled.
   * They are stored, and counted as spooled, only when `commit` ends their transaction.
   */
  private packed: PackedRow[] = [];
  private pending: string[] = [];
  private pendingPoints = 0;
  private pendingBytes = 0;
  private waiters: Array<{ resolve: () => void; reject: (err: PointsRefused) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly commitIntervalMs: number;
  private readonly onDrop: (count: number, reason: SinkRefusal) => void;
  private readonly onDiskFull: (full: boolean, err?: Error) => void;
  private readonly diskProbeMs: number;
  private readonly probe: DiskProbe;
  /** Set while the disk is full (see `diskFull`); probes for room until a write succeeds. */
  private probeTimer: NodeJS.Timeout | undefined;
  private points: number;
  private bytes: number;
  /**
   * The id of the next committed row. Kept here rather than left to SQLite: SQLite gives an
   * empty table rowid 1 again, and the drain (which reads ids above the last it claimed) would
   * then never see the lines spooled after it had emptied the spool.
   */
  private nextId: number;
  private readonly selectAfter: Database.Statement;
  private readonly sizeOfRange: Database.Statement;
  private readonly deleteRange: Database.Statement;
  private readonly oldest: Database.Statement;
  private readonly insertDead: Database.Statement;
  private readonly commitPending: () => void;
  private readonly ackTx: (batch: SpoolBatch, dead: DeadLetter[]) => void;
  private closed = false;
  /**
   * Batches handed to the drain (`claim`) and not yet acknowledged, by first row id. Their rows
   * are not dropped when full: the writer holds them and delivers them when it can, so dropping
   * them would count as lost points that arrive after all.
   */
  private readonly claims = new Map<number, { lastId: number; points: number; bytes: number }>();
  /** The highest row id ever claimed: the next claim reads above it. */
  private claimedThrough = 0;

  constructor(options: SpoolOptions) {
    this.db = options.db;
    this.maxBytes = options.maxBytes ?? 1024 ** 3;
    this.whenFull = options.whenFull ?? 'drop_oldest';
    this.commitIntervalMs = options.commitIntervalMs ?? 50;
    this.commitLines = options.commitLines ?? 5000;
    this.linesPerRow = options.linesPerRow ?? DEFAULT_LINES_PER_ROW;
    this.onDrop = options.onDrop ?? (() => {});
    this.onDiskFull = options.onDiskFull ?? (() => {});
    this.diskProbeMs = options.diskProbeMs ?? 1000;
    this.probe = new DiskProbe(this.db, options.diskReserveBytes, options.diskFree);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY, line NOT NULL, lengths BLOB, chars INTEGER);
      CREATE TABLE IF NOT EXISTS dead_letters (
        id INTEGER PRIMARY KEY, at INTEGER NOT NULL, line TEXT NOT NULL, error TEXT NOT NULL);
    `);
    const columns = this.db.prepare("SELECT name FROM pragma_table_info('spool')").pluck().all() as string[];
    if (!columns.includes('lengths')) this.db.exec('ALTER TABLE spool ADD COLUMN lengths BLOB');
    if (!columns.includes('chars')) this.db.exec('ALTER TABLE spool ADD COLUMN chars INTEGER');
    this.sizeOfRange = this.db.prepare(
      `SELECT COALESCE(SUM(${POINTS}), 0) AS points, COALESCE(SUM(${BYTES}), 0) AS bytes FROM spool WHERE id BETWEEN ? AND ?`,
    );
    const totals = this.sizeOfRange.get(0, Number.MAX_SAFE_INTEGER) as { points: number; bytes: number };
    this.points = totals.points;
    this.bytes = totals.bytes;
    this.nextId = ((this.db.prepare('SELECT MAX(id) FROM spool').pluck().get() as number | null) ?? 0) + 1;
    const insert = this.db.prepare('INSERT INTO spool (id, line, lengths, chars) VALUES (?, ?, ?, ?)');
    this.selectAfter = this.db.prepare('SELECT id, line, lengths FROM spool WHERE id > ? ORDER BY id').raw();
    this.deleteRange = this.db.prepare('DELETE FROM spool WHERE id BETWEEN ? AND ?');
    this.oldest = this.db.prepare(`SELECT id, ${POINTS}, ${BYTES} FROM spool WHERE id > ? ORDER BY id LIMIT ?`).raw();
    this.insertDead = this.db.prepare('INSERT INTO dead_letters (at, line, error) VALUES (?, ?, ?)');
    this.commitPending = this.db.transaction(() => {
      for (const row of this.packed) insert.run(this.nextId++, row.gzip, row.lengths, row.chars);
    });
    this.ackTx = this.db.transaction((batch: SpoolBatch, dead: DeadLetter[]) => {
      // Count what is still there: a batch read without `claim` may have lost rows to drops.
      const left = this.sizeOfRange.get(batch.firstId, batch.lastId) as { points: number; bytes: number };
      this.deleteRange.run(batch.firstId, batch.lastId);
      this.points -= left.points;
      this.bytes -= left.bytes;
      for (const d of dead) this.insertDead.run(Date.now(), d.line, d.error);
    });
  }

  /**
   * Queues one encoded line; it is durable after the next commit (see `committed`). Answers
   * `spool_full` when the line did not fit (drop_newest, or a line larger than the spool) and
   * `disk_full` while the disk is full: it is then dropped and counted, and whoever sent it must
   * not be told it was stored.
   */
  append(line: string): SinkRefusal | undefined {
    if (this.closed) throw new Error('spool is closed');
    if (this.diskFull) {
      this.onDrop(1, 'disk_full');
      return 'disk_full';
    }
    const size = line.length;
    if (this.bytes + this.pendingBytes + size > this.maxBytes && !this.makeRoom(size)) {
      const reason = this.diskFull ? 'disk_full' : 'spool_full';
      this.onDrop(1, reason);
      return reason;
    }
    this.pending.push(line);
    this.pendingPoints++;
    this.pendingBytes += size;
    if (this.pending.length >= this.linesPerRow) this.packRow();
    if (this.pendingPoints < this.commitLines) this.timer ??= setTimeout(() => this.commit(), this.commitIntervalMs);
    else {
      this.commit();
      // A failed commit refused (and counted) this line with the others.
      if (this.diskFull) return 'disk_full';
    }
    return undefined;
  }

  /**
   * The disk is full: commits failed, new lines are refused (`disk_full`) until a probe write
   * succeeds. Reading and acknowledging go on, so the drain frees room meanwhile.
   */
  get diskFull(): boolean {
    return this.probeTimer !== undefined;
  }

  /** Called after each commit that added lines (the drain wakes up when a full batch waits). */
  onCommit: (() => void) | undefined;

  /**
   * Resolves once every line appended so far is committed; rejects with `PointsRefused` when
   * they were not stored (the disk is full, or became full at their commit). Callers ask in the
   * same synchronous run as their appends, so a probe cannot end the state in between.
   */
  committed(): Promise<void> {
    if (this.diskFull) return Promise.reject(new PointsRefused('disk_full'));
    if (this.pendingPoints === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Writes the waiting lines in one transaction. Never throws for a full disk (see `diskFull`). */
  commit(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    if (this.pendingPoints > 0) {
      try {
        const reserve = this.probe.keepsReserve(this.pendingBytes);
        if (reserve) throw reserve;
        if (this.pending.length > 0) this.packRow();
        this.commitPending();
      } catch (err) {
        if (!isDiskFull(err) && !(err instanceof DiskReserveReached)) throw err;
        this.refusePending(err);
        for (const w of waiters) w.reject(new PointsRefused('disk_full'));
        return;
      }
      this.points += this.pendingPoints;
      this.bytes += this.pendingBytes;
      this.clearPending();
      this.onCommit?.();
    }
    for (const w of waiters) w.resolve();
  }

  /** The row being filled, as it will be stored. */
  private packRow(): void {
    const row = this.pending;
    const text = row.join('\n') + '\n';
    this.packed.push({ gzip: gzipLines(text), lengths: lengthsOf(row), chars: text.length - row.length });
    this.pending = [];
  }

  private clearPending(): void {
    this.packed = [];
    this.pending = [];
    this.pendingPoints = 0;
    this.pendingBytes = 0;
  }

  /** A commit failed for a full disk: its lines are refused, and so are new ones until a probe fits. */
  private refusePending(err: Error): void {
    this.onDrop(this.pendingPoints, 'disk_full');
    this.clearPending();
    if (this.diskFull) return;
    this.onDiskFull(true, err);
    this.probeTimer = setInterval(() => {
      if (this.closed || !this.probe.fits()) return;
      clearInterval(this.probeTimer);
      this.probeTimer = undefined;
      this.onDiskFull(false);
    }, this.diskProbeMs);
    this.probeTimer.unref();
  }

  /**
   * The oldest committed rows with an id above `afterId`: whole rows, together at most `limit`
   * lines (at least one row, however many lines it holds).
   */
  read(afterId: number, limit: number): SpoolBatch | undefined {
    const members: Buffer[] = [];
    const lengths: Buffer[] = [];
    let count = 0;
    let firstId = -1;
    let lastId = -1;
    for (const [id, line, rowLengths] of this.selectAfter.iterate(afterId) as IterableIterator<
      [number, Buffer | string, Buffer | null]
    >) {
      const n = rowLengths === null ? 1 : rowLengths.length >> 2;
      if (count > 0 && count + n > limit) break;
      if (firstId < 0) firstId = id;
      lastId = id;
      count += n;
      if (typeof line === 'string') {
        // An earlier version's row: packed here, the same as a row committed now.
        members.push(gzipLines(`${line}\n`));
        lengths.push(rowLengths ?? lengthsOf([line]));
      } else {
        members.push(line);
        lengths.push(rowLengths!);
      }
      if (count >= limit) break;
    }
    return firstId < 0 ? undefined : new SpoolBatch(firstId, lastId, count, members, lengths);
  }

  /**
   * The oldest rows no batch has claimed yet, for the drain: they are its own until acknowledged
   * (or released), and are not dropped when full.
   */
  claim(limit: number): SpoolBatch | undefined {
    const batch = this.read(this.claimedThrough, limit);
    if (batch) {
      this.claimedThrough = batch.lastId;
      const { bytes } = this.sizeOfRange.get(batch.firstId, batch.lastId) as { bytes: number };
      this.claims.set(batch.firstId, { lastId: batch.lastId, points: batch.count, bytes });
    }
    return batch;
  }

  /** Points in claimed batches not yet acknowledged. */
  claimedPoints(): number {
    let points = 0;
    for (const claim of this.claims.values()) points += claim.points;
    return points;
  }

  /** Forgets the claims (the drain stopped): the next claim starts from the oldest row again. */
  release(): void {
    this.claims.clear();
    this.claimedThrough = 0;
  }

  /** Removes a batch the writer has dealt with, recording the lines it refused. */
  ack(batch: SpoolBatch, deadLetters: DeadLetter[] = []): void {
    this.ackTx(batch, deadLetters);
    this.claims.delete(batch.firstId);
  }

  /** Points and bytes held (committed and waiting). */
  size(): { points: number; bytes: number } {
    return { points: this.points + this.pendingPoints, bytes: this.bytes + this.pendingBytes };
  }

  deadLetters(limit = 100): DeadLetter[] {
    return this.db.prepare('SELECT line, error FROM dead_letters ORDER BY id DESC LIMIT ?').all(limit) as DeadLetter[];
  }

  close(): void {
    if (this.closed) return;
    this.commit();
    clearInterval(this.probeTimer);
    this.closed = true;
  }

  private makeRoom(size: number): boolean {
    if (this.whenFull === 'drop_newest' || size > this.maxBytes) return false;
    this.commit();
    if (this.diskFull) return false;
    let need = this.bytes + size - this.maxBytes;
    // Oldest rows not claimed by the drain, in windows (not one row at a time), until the new line
    // fits. Only when the batches in flight, as claimed, fill over half the spool (a spool too
    // small for them) do their rows go too, oldest first: otherwise drop_oldest would be left
    // dropping the newest rows. They may yet be delivered.
    let inFlight = 0;
    let claimedThrough = 0;
    for (const claim of this.claims.values()) {
      inFlight += claim.bytes;
      claimedThrough = Math.max(claimedThrough, claim.lastId);
    }
    const after = inFlight * 2 > this.maxBytes ? 0 : claimedThrough;
    while (need > 0 && this.points > 0) {
      let dropped = 0;
      let firstId = -1;
      let lastId = -1;
      for (const [id, points, bytes] of this.oldest.all(
        after,
        Math.max(16, (this.points / this.linesPerRow) >> 6),
      ) as Array<[number, number, number]>) {
        if (need <= 0) break;
        if (firstId < 0) firstId = id;
        lastId = id;
        need -= bytes;
        this.bytes -= bytes;
        this.points -= points;
        dropped += points;
      }
      if (dropped === 0) break;
      this.deleteRange.run(firstId, lastId);
      this.onDrop(dropped, 'spool_full');
    }
    return need <= 0;
  }
}

/** A row packed for its insert: the columns `line`, `lengths` and `chars` (see above). */
interface PackedRow {
  gzip: Buffer;
  lengths: Buffer;
  chars: number;
}

function lengthsOf(lines: readonly string[]): Buffer {
  const b = Buffer.allocUnsafe(lines.length * 4);
  for (let i = 0; i < lines.length; i++) b.writeUInt32LE(lines[i].length, i * 4);
  return b;
}

/** Rows read from the spool, in order: what the drain hands to a writer and acknowledges. */
export class SpoolBatch implements PackedLines {
  private packed: Buffer | undefined;

  constructor(
    readonly firstId: number,
    readonly lastId: number,
    readonly count: number,
    private readonly members: readonly Buffer[],
    private readonly lengths: readonly Buffer[],
  ) {}

  get gzip(): Buffer {
    this.packed ??= this.members.length === 1 ? this.members[0] : Buffer.concat(this.members);
    return this.packed;
  }

  lines(): string[] {
    const text = zlib.gunzipSync(this.gzip).toString('utf8');
    const lines: string[] = [];
    let at = 0;
    for (const lengths of this.lengths) {
      for (let i = 0; i < lengths.length; i += 4) {
        const end = at + lengths.readUInt32LE(i);
        lines.push(text.slice(at, end));
        at = end + 1;
      }
    }
    return lines;
  }
}

export interface DeadLetter {
  line: string;
  error: string;
}
