import type Database from 'better-sqlite3';

/** Parts of one report kept at most: a charger sending more is counted, not stored. */
export const MAX_PARTS = 200;

export interface CustomerReport {
  request_id: number;
  /** A last part (tbc false) arrived and no part before it is missing. */
  complete: boolean;
  parts: number;
  /** The parts' data joined in seqNo order. */
  data: string;
  generated_at: string | null;
}

/**
 * NotifyCustomerInformation parts per charger and requestId (`ocpp_customer_information`),
 * assembled in seqNo order. A resent part overwrites itself.
 */
export class CustomerReports {
  private readonly insert: Database.Statement;
  private readonly count: Database.Statement;
  private readonly select: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare(`INSERT OR REPLACE INTO ocpp_customer_information
      (charger, request_id, seq_no, data, tbc, generated_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.count = db.prepare('SELECT count(*) FROM ocpp_customer_information WHERE charger = ? AND request_id = ?');
    this.select = db.prepare(`SELECT seq_no, data, tbc, generated_at FROM ocpp_customer_information
      WHERE charger = ? AND request_id = ? ORDER BY seq_no`);
  }

  /** false when the report already holds MAX_PARTS parts. */
  add(
    charger: string,
    part: { requestId: number; seqNo: number; data: string; tbc?: boolean; generatedAt: string },
    at: number,
  ): boolean {
    if ((this.count.pluck().get(charger, part.requestId) as number) >= MAX_PARTS) return false;
    this.insert.run(charger, part.requestId, part.seqNo, part.data, part.tbc ? 1 : 0, part.generatedAt, at);
    return true;
  }

  get(charger: string, requestId: number): CustomerReport | undefined {
    const rows = this.select.all(charger, requestId) as Array<{
      seq_no: number;
      data: string;
      tbc: number;
      generated_at: string;
    }>;
    if (rows.length === 0) return undefined;
    const last = rows.at(-1)!;
    const contiguous = rows.every((r, i) => r.seq_no === i);
    return {
      request_id: requestId,
      complete: contiguous && last.tbc === 0,
      parts: rows.length,
      data: rows.map((r) => r.data).join(''),
      generated_at: rows[0].generated_at,
    };
  }
}
