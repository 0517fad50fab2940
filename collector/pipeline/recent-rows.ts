/**
 * The spool's rows committed lately, still in memory up to a budget of line text, so that the
 * drain is handed what was just committed instead of reading it back from SQLite (reading and
 * decoding the text again cost as much CPU as writing it). SQLite stays the truth: a read this
 * cache cannot answer goes to the table.
 */
interface Row {
  id: number;
  lines: string[];
  bytes: number;
  gone: boolean;
}

export class RecentRows {
  /** Ascending ids; rows deleted from the spool stay until they reach the front, marked gone. */
  private readonly rows: Row[] = [];
  private bytes = 0;
  /** Every row of the spool with this id or higher is held here (or marked gone). */
  private from: number;

  constructor(
    private readonly maxBytes: number,
    nextId: number,
  ) {
    this.from = nextId;
  }

  add(id: number, lines: string[], bytes: number): void {
    this.rows.push({ id, lines, bytes, gone: false });
    this.bytes += bytes;
    while (this.bytes > this.maxBytes && this.rows.length > 0) {
      const evicted = this.rows.shift()!;
      if (!evicted.gone) this.bytes -= evicted.bytes;
      this.from = evicted.id + 1;
    }
  }

  /** Whether every row after `afterId` that the spool holds is here. */
  covers(afterId: number): boolean {
    return afterId + 1 >= this.from;
  }

  /** Same contract as `Spool.read`, for a range this cache covers. */
  read(afterId: number, limit: number): { firstId: number; lastId: number; lines: string[] } | undefined {
    let lines: string[] = [];
    let firstId = -1;
    let lastId = -1;
    for (let i = this.indexAfter(afterId); i < this.rows.length; i++) {
      const row = this.rows[i]!;
      if (row.gone) continue;
      if (lines.length > 0 && lines.length + row.lines.length > limit) break;
      if (firstId < 0) firstId = row.id;
      lastId = row.id;
      lines = lines.length === 0 ? row.lines.slice() : lines.concat(row.lines);
      if (lines.length >= limit) break;
    }
    return firstId < 0 ? undefined : { firstId, lastId, lines };
  }

  /** The rows `firstId`..`lastId` left the spool (acknowledged or dropped). */
  forget(firstId: number, lastId: number): void {
    for (let i = this.indexAfter(firstId - 1); i < this.rows.length && this.rows[i]!.id <= lastId; i++) {
      const row = this.rows[i]!;
      if (!row.gone) this.bytes -= row.bytes;
      row.gone = true;
      row.lines = [];
    }
    while (this.rows[0]?.gone) this.rows.shift();
  }

  /** Index of the first row with an id above `id` (binary search: ids ascend). */
  private indexAfter(id: number): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid]!.id <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
