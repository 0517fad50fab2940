import type Database from 'better-sqlite3';

/**
 * Reports a 2.0.1 charger sends in parts (NotifyReport, NotifyMonitoringReport: seqNo from 0, tbc
 * on all but the last), kept in `ocpp_report_parts` until every part of a requestId is in, so
 * that the store changes once, with the whole report, whatever order the parts came in. A
 * restart in between loses nothing; parts of a report still incomplete after a day are dropped
 * (a charger that never sends the rest must not grow the table for ever).
 */
const STALE_MS = 86_400_000;

export class ReportParts {
  private readonly insert: Database.Statement;
  private readonly parts: Database.Statement;
  private readonly done: Database.Statement;
  private readonly stale: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(`INSERT INTO ocpp_report_parts (charger, kind, request_id, seq_no, last, data, received_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET last = excluded.last, data = excluded.data`);
    this.parts = db.prepare(
      'SELECT seq_no, last, data FROM ocpp_report_parts WHERE charger = ? AND kind = ? AND request_id = ? ORDER BY seq_no',
    );
    this.done = db.prepare('DELETE FROM ocpp_report_parts WHERE charger = ? AND kind = ? AND request_id = ?');
    this.stale = db.prepare('DELETE FROM ocpp_report_parts WHERE charger = ? AND received_at < ?');
  }

  /**
   * Adds one part; when it completes the report, calls `complete` with every part's data in
   * seqNo order (in the same transaction as the parts are removed) and returns true.
   */
  add<T>(
    charger: string,
    kind: 'report' | 'monitoring',
    requestId: number,
    seqNo: number,
    tbc: boolean,
    data: T[],
    now: number,
    complete: (data: T[]) => void,
  ): boolean {
    return this.db.transaction(() => {
      this.stale.run(charger, now - STALE_MS);
      this.insert.run(charger, kind, requestId, seqNo, Number(!tbc), JSON.stringify(data), now);
      const parts = this.parts.all(charger, kind, requestId) as Array<{ seq_no: number; last: number; data: string }>;
      const whole = parts.at(-1)?.last === 1 && parts.every((p, i) => p.seq_no === i);
      if (!whole) return false;
      complete(parts.flatMap((p) => JSON.parse(p.data) as T[]));
      this.done.run(charger, kind, requestId);
      return true;
    })();
  }
}
