/**
 * Alert rules in Grafana's file-provisioning shape (apiVersion 1, groups → rules → data[]),
 * which differs from the SDK's HTTP-API builders. Each rule: A = InfluxQL query (one series per
 * device: GROUP BY the device labels), B = reduce, C = threshold, and for metric rules an extra
 * "watched" query W (1 per device not in maintenance) multiplied in (M = $B * $X), so devices in
 * maintenance produce no instance at all.
 */
import { DATASOURCE_UID } from '../dashboards/datasource.ts';
import type { Query } from '../dashboards/influxql.ts';
import { runbookUrl, type AlertLinks } from './alert-links.ts';

export const EXPR_UID = '__expr__';
export type Severity = 'critical' | 'warning' | 'info';
export type Reducer = 'last' | 'mean' | 'max' | 'min' | 'sum' | 'count';
export type Evaluator =
  { type: 'gt' | 'lt'; params: [number] } | { type: 'within_range' | 'outside_range'; params: [number, number] };
/** Grafana's states for "no data" and "error": `KeepLast` needs Grafana 10.4+ (compose pins 11). */
export type NoDataState = 'OK' | 'NoData' | 'Alerting' | 'KeepLast';
export type ExecErrState = 'OK' | 'Error' | 'Alerting' | 'KeepLast';

/** What one instance is about: it decides the annotations that name it and link to it. */
export type Subject = 'device' | 'site' | 'host' | 'fleet';

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
  /** Its runbook is the heading `## <uid>` of docs/runbooks.md. */
  subject: Subject;
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

/**
 * Annotations that say who an instance is about, so that a notification or an incident names them
 * without reading labels: device, customer, site, the dependency cause (a rule without a `cause`
 * label is about the device itself: self) and a link to the page to act on.
 */
function subjectAnnotations(r: RuleSpec, links: AlertLinks): Record<string, string> {
  const cause = r.labels?.cause ?? 'self';
  switch (r.subject) {
    case 'device':
      return {
        device: '{{ $labels.device }}',
        customer: '{{ $labels.customer }}',
        site: '{{ $labels.site }}',
        cause,
        device_url: `${links.fleetpulseUrl}/ui/devices/{{ $labels.device }}`,
        // Where the incident this alert raises is acknowledged.
        incidents_url: `${links.fleetpulseUrl}/ui/incidents?device={{ $labels.device }}`,
        ...(r.uid.startsWith('fp-session-') && { sessions_url: `${links.fleetpulseUrl}/ui/sessions` }),
      };
    case 'site':
      // The incident of the outage lists the devices it affects.
      return {
        customer: '{{ $labels.customer }}',
        site: '{{ $labels.site }}',
        cause,
        incidents_url: `${links.fleetpulseUrl}/ui/incidents?customer={{ $labels.customer }}&site={{ $labels.site }}`,
      };
    case 'host':
      return { host: '{{ $labels.host }}' };
    case 'fleet':
      return {};
  }
}

/** One rule as Grafana's provisioning file wants it. */
export function provisionedRule(r: RuleSpec, links: AlertLinks): Record<string, unknown> {
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
    annotations: {
      summary: r.summary,
      description: r.description,
      runbook_url: runbookUrl(links, r.uid),
      ...subjectAnnotations(r, links),
    },
    isPaused: false,
  };
}
