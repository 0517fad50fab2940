import type { Database } from 'better-sqlite3';

export interface IncidentStats {
  customer: string | null;
  severity: string;
  /** Incidents that started in the period. */
  count: number;
  acknowledged: number;
  resolved: number;
  /** Mean time to acknowledge, s (start of the alert to acknowledgement), over acknowledged ones; null if none. */
  mtta_s: number | null;
  /** Mean time to resolve, s (start of the alert to resolution), over resolved ones; null if none. */
  mttr_s: number | null;
}

/** MTTA and MTTR per customer and severity for incidents that started in [from, to) (epoch ms). */
export function incidentStats(db: Database, opts: { from: number; to: number; customer?: string }): IncidentStats[] {
  const rows = db
    .prepare(
      `SELECT customer, severity, count(*) AS count, count(acked_at) AS acknowledged, count(resolved_at) AS resolved,
         avg(acked_at - starts_at) / 1000.0 AS mtta_s, avg(resolved_at - starts_at) / 1000.0 AS mttr_s
       FROM incidents
       WHERE starts_at >= ? AND starts_at < ? ${opts.customer !== undefined ? 'AND customer = ?' : ''}
       GROUP BY customer, severity ORDER BY customer, severity`,
    )
    .all(opts.from, opts.to, ...(opts.customer !== undefined ? [opts.customer] : [])) as IncidentStats[];
  return rows.map((r) => ({
    ...r,
    mtta_s: r.mtta_s === null ? null : Math.round(r.mtta_s),
    mttr_s: r.mttr_s === null ? null : Math.round(r.mttr_s),
  }));
}
