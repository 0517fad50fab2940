import Database from 'better-sqlite3';

const INSERT_ROWS = 100;

export type WhenFull = 'drop_oldest' | 'drop_newest';

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
  /** ...or as soon as this many lines are waiting. Default 20,000. */
  commitLines?: number;
  /** Called with the number of points dropped because the spool was full. */
  onDrop?: (count: number) => void;
}

export interface SpoolBatch {
  firstId: number;
  lastId: number;
  lines: string[];
}

/**
 * The durable queue between emit and the writer: a SQLite table in WAL mode. A point counts as
 * accepted once its transaction commits; it leaves the spool only when the writer has stored it
 * or dead-lettered it. Emitted lines wait in memory for at most one commit interval so that
 * commits are grouped (one transaction per few thousand points, not per point).
 */
export class Spool {
  private readonly db: Database.Database;
  private readonly maxBytes: number;
  private readonly whenFull: WhenFull;
  private readonly commitLines: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly commitIntervalMs: number;
  private readonly onDrop: (count: number) => void;
  private rows: number;
  private bytes: number;
  /**
   * The id of the next committed line. Kept here rather than left to SQLite: SQLite gives an
   * empty table rowid 1 again, and the drain (which reads ids above the last it claimed) would
   * then never see the lines spooled after it had emptied the spool.
   */
  private nextId: number;
  private readonly insert: Database.Statement;
  private readonly selectAfter: Database.Statement;
  private readonly deleteRange: Database.Statement;
  private readonly oldest: Database.Statement;
  private readonly insertDead: Database.Statement;
  private readonly commitPending: () => void;
  private readonly ackTx: (batch: SpoolBatch, dead: DeadLetter[]) => void;
  private closed = false;

  constructor(options: SpoolOptions) {
    this.db = options.db;
    this.maxBytes = options.maxBytes ?? 1024 ** 3;
    this.whenFull = options.whenFull ?? 'drop_oldest';
    this.commitIntervalMs = options.commitIntervalMs ?? 50;
    this.commitLines = options.commitLines ?? 20_000;
    this.onDrop = options.onDrop ?? (() => {});
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY, line TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS dead_letters (
        id INTEGER PRIMARY KEY, at INTEGER NOT NULL, line TEXT NOT NULL, error TEXT NOT NULL);
    `);
    const totals = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(line)), 0) AS b FROM spool').get() as { n: number; b: number };
    this.rows = totals.n;
    this.bytes = totals.b;
    this.nextId = ((this.db.prepare('SELECT MAX(id) FROM spool').pluck().get() as number | null) ?? 0) + 1;
    this.insert = this.db.prepare('INSERT INTO spool (id, line) VALUES (?, ?)');
    this.selectAfter = this.db.prepare('SELECT id, line FROM spool WHERE id > ? ORDER BY id LIMIT ?').raw();
    this.deleteRange = this.db.prepare('DELETE FROM spool WHERE id BETWEEN ? AND ?');
    this.oldest = this.db.prepare('SELECT id, LENGTH(line) AS b FROM spool ORDER BY id LIMIT ?').raw();
    this.insertDead = this.db.prepare('INSERT INTO dead_letters (at, line, error) VALUES (?, ?, ?)');
    // Rows go in 100 at a time: one statement call per row costs more than SQLite's own work.
    const insertMany = this.db.prepare(`INSERT INTO spool (id, line) VALUES ${Array(INSERT_ROWS).fill('(?, ?)').join(', ')}`);
    const args: Array<number | string> = new Array(INSERT_ROWS * 2);
    this.commitPending = this.db.transaction(() => {
      let id = this.nextId;
      const lines = this.pending;
      let i = 0;
      for (; i + INSERT_ROWS <= lines.length; i += INSERT_ROWS) {
        for (let j = 0; j < INSERT_ROWS; j++) {
          args[2 * j] = id++;
          args[2 * j + 1] = lines[i + j]!;
        }
        insertMany.run(args);
      }
      for (; i < lines.length; i++) this.insert.run(id++, lines[i]);
      this.nextId = id;
    });
    this.ackTx = this.db.transaction((batch: SpoolBatch, dead: DeadLetter[]) => {
      const deleted = this.deleteRange.run(batch.firstId, batch.lastId).changes;
      // Lines of the batch may be gone already (dropped as oldest while in flight; their bytes
      // were counted then). Dropping takes the oldest ids first, so what is left of a batch is
      // the end of it: count those bytes without reading the lines back from the file.
      let bytes = 0;
      for (let i = batch.lines.length - deleted; i < batch.lines.length; i++) bytes += batch.lines[i]!.length;
      this.bytes -= bytes;
      this.rows -= deleted;
      for (const d of dead) this.insertDead.run(Date.now(), d.line, d.error);
    });
  }

  /** Queues one encoded line; it is durable after the next commit (see `committed`). */
  append(line: string): void {
    if (this.closed) throw new Error('spool is closed');
    const size = line.length;
    if (this.bytes + this.pendingBytes + size > this.maxBytes && !this.makeRoom(size)) {
      this.onDrop(1);
      return;
    }
    this.pending.push(line);
    this.pendingBytes += size;
    if (this.pending.length >= this.commitLines) this.commit();
    else this.timer ??= setTimeout(() => this.commit(), this.commitIntervalMs);
  }

  /** The id of the newest committed line (0 when none was ever committed). */
  get lastId(): number {
    return this.nextId - 1;
  }

  /** Called after each commit that added lines (the drain wakes up when a full batch waits). */
  onCommit: (() => void) | undefined;

  /** Resolves once every line appended so far is committed. */
  committed(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes the waiting lines in one transaction. */
  commit(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length > 0) {
      this.commitPending();
      this.rows += this.pending.length;
      this.bytes += this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      this.onCommit?.();
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The oldest committed lines with an id above `afterId`. */
  read(afterId: number, limit: number): SpoolBatch | undefined {
    const rows = this.selectAfter.all(afterId, limit) as Array<[number, string]>;
    if (rows.length === 0) return undefined;
    return { firstId: rows[0]![0], lastId: rows[rows.length - 1]![0], lines: rows.map((r) => r[1]) };
  }

  /** Removes a batch the writer has dealt with, recording the lines it refused. */
  ack(batch: SpoolBatch, deadLetters: DeadLetter[] = []): void {
    this.ackTx(batch, deadLetters);
  }

  /** Points and bytes held (committed and waiting). */
  size(): { points: number; bytes: number } {
    return { points: this.rows + this.pending.length, bytes: this.bytes + this.pendingBytes };
  }

  deadLetters(limit = 100): DeadLetter[] {
    return this.db.prepare('SELECT line, error FROM dead_letters ORDER BY id DESC LIMIT ?').all(limit) as DeadLetter[];
  }

  close(): void {
    if (this.closed) return;
    this.commit();
    this.closed = true;
  }

  private makeRoom(size: number): boolean {
    if (this.whenFull === 'drop_newest' || size > this.maxBytes) return false;
    this.commit();
    let need = this.bytes + size - this.maxBytes;
    // Oldest rows in windows (not one row at a time), until the new line fits.
    while (need > 0 && this.rows > 0) {
      let dropped = 0;
      let firstId = -1;
      let lastId = -1;
      for (const [id, b] of this.oldest.all(Math.max(64, this.rows >> 6)) as Array<[number, number]>) {
        if (need <= 0) break;
        if (firstId < 0) firstId = id;
        lastId = id;
        need -= b;
        this.bytes -= b;
        dropped++;
      }
      if (dropped === 0) break;
      this.rows -= this.deleteRange.run(firstId, lastId).changes;
      this.onDrop(dropped);
    }
    return need <= 0;
  }
}

export interface DeadLetter {
  line: string;
  error: string;
}

/** Opens (or creates) the runtime's state database: WAL, so a reader never blocks the writer. */
export function openStateDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL survives a killed process (the WAL is in the OS); only a power cut can lose the last
  // commits. `spool.synchronous: full` in the config trades throughput for that case too.
  db.pragma('synchronous = NORMAL');
  return db;
}
