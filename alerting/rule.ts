/**
 * Alert rules in Grafana's file-provisioning shape (apiVersion 1, groups → rules → data[]),
 * which differs from the SDK's HTTP-API builders. Each rule: A = InfluxQL query (one series per
 * device: GROUP BY the device labels), B = reduce, C = threshold, and for metric rules an extra
 * "watched" query W (1 per device not in maintenance) multiplied in (M = $B * $X), so devices in
 * maintenance produce no instance at all.
 */
import { DATASOURCE_UID } from '../dashboards/datasource.ts';
import type { Query } from '../dashboards/influxql.ts';

export const EXPR_UID = '__expr__';
export type Severity = 'critical' | 'warning' | 'info';
export type Reducer = 'last' | 'mean' | 'max' | 'min' | 'sum' | 'count';
export type Evaluator =
  { type: 'gt' | 'lt'; params: [number] } | { type: 'within_range' | 'outside_range'; params: [number, number] };
/** Grafana's states for "no data" and "error": `KeepLast` needs Grafana 10.4+ (compose pins 11). */
export type NoDataState = 'OK' | 'NoData' | 'Alerting' | 'KeepLast';
export type ExecErrState = 'OK' | 'Error' | 'Alerting' | 'KeepLast';

export const RUNBOOK_BASE = 'https://github.com/fleetpulse/fleetpulse/blob/main/docs/grafana.md#runbook';

export interface RuleSpec {
  uid: string;
  title: string;
  query: Query;
  /** Look-back of the query, s (Grafana's relativeTimeRange.from). */
  lookbackS: number;
  reducer: Reducer;
  evaluator: Evaluator;
  /** Devices not in maintenance (one series of value 1 each); multiplied in before the threshold. */
  watched?: Query;
  /** How long the condition must hold before firing. */
  for: string;
  severity: Severity;
  noDataState: NoDataState;
  execErrState: ExecErrState;
  summary: string;
  description: string;
  /** Anchor in docs/grafana.md's runbook. */
  runbook: string;
  /** Labels every instance carries besides severity and product (e.g. the dependency `cause`). */
  labels?: Record<string, string>;
}

const queryStep = (refId: string, query: Query, lookbackS: number) => ({
  refId,
  relativeTimeRange: { from: lookbackS, to: 0 },
  datasourceUid: DATASOURCE_UID,
  model: {
    refId,
    datasource: { type: 'influxdb', uid: DATASOURCE_UID },
    query: query.toString(),
    rawQuery: true,
    resultFormat: 'time_series',
    intervalMs: 1000,
    maxDataPoints: 43200,
  },
});
const exprStep = (refId: string, model: Record<string, unknown>) => ({
  refId,
  relativeTimeRange: { from: 0, to: 0 },
  datasourceUid: EXPR_UID,
  model: { refId, datasource: { type: '__expr__', uid: EXPR_UID }, ...model },
});

/** One rule as Grafana's provisioning file wants it. */
export function provisionedRule(r: RuleSpec): Record<string, unknown> {
  const data: Record<string, unknown>[] = [
    queryStep('A', r.query, r.lookbackS),
    exprStep('B', { type: 'reduce', expression: 'A', reducer: r.reducer, settings: { mode: 'dropNN' } }),
  ];
  let thresholdOn = 'B';
  if (r.watched) {
    data.push(queryStep('W', r.watched, r.lookbackS));
    data.push(exprStep('X', { type: 'reduce', expression: 'W', reducer: 'last', settings: { mode: 'dropNN' } }));
    data.push(exprStep('M', { type: 'math', expression: '$B * $X' }));
    thresholdOn = 'M';
  }
  data.push(exprStep('C', { type: 'threshold', expression: thresholdOn, conditions: [{ evaluator: r.evaluator }] }));
  return {
    uid: r.uid,
    title: r.title,
    condition: 'C',
    data,
    noDataState: r.noDataState,
    execErrState: r.execErrState,
    for: r.for,
    labels: { severity: r.severity, product: 'fleetpulse', ...r.labels },
    annotations: { summary: r.summary, description: r.description, runbook_url: `${RUNBOOK_BASE}-${r.runbook}` },
    isPaused: false,
  };
}
