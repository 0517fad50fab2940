/**
 * Rules on the collector itself (self-metrics, one instance per collector host) and on the data
 * path as a whole. The stale-data rule is the one alert for "InfluxDB unreachable or nothing
 * arriving": it alerts on no data and on errors, while every per-device rule keeps its last state.
 */
import { deviceStatus } from '../collector/runtime/measurements.ts';
import { Query } from '../dashboards/influxql.ts';
import { selfMetric } from '../dashboards/self-metric-names.ts';
import type { RuleSpec } from './rule.ts';

const WINDOW_S = 600;
/** Points waiting in the spool that mean it is not draining (≈ 1 min of a 20,000-device fleet). */
export const SPOOL_BACKLOG_POINTS = 10_000;
const collector = { noDataState: 'OK', execErrState: 'KeepLast' } as const;

/** Increase of a counter over the look-back, per `by` (counter resets count from zero). */
function increase(name: string, by: string[]): Query {
  const inner = Query.fromName(name)
    .increase('value', 'delta')
    .byTime('1m')
    .byTags(...by);
  return Query.fromSubquery(inner)
    .select('sum', 'delta', 'increase')
    .byTags(...by)
    .within({ kind: 'none' });
}

export function collectorRules(): RuleSpec[] {
  return [
    {
      uid: 'fp-points-dropped',
      title: 'Collector dropped points',
      severity: 'critical',
      ...collector,
      query: increase(selfMetric.pointsDropped, ['host', 'reason']),
      lookbackS: WINDOW_S,
      reducer: 'last',
      evaluator: { type: 'gt', params: [0] },
      for: '0s',
      summary: 'Collector {{ $labels.host }} dropped {{ $values.B }} points ({{ $labels.reason }}) in 10 min',
      description:
        'Points were lost on purpose: the spool was full or InfluxDB refused lines (dead letters). Data is missing from dashboards and reports.',
      subject: 'host',
    },
    {
      uid: 'fp-spool-backlog',
      title: 'Collector spool not draining',
      severity: 'warning',
      ...collector,
      query: Query.fromName(selfMetric.spoolPoints).select('min', 'value', 'points').byTags('host'),
      lookbackS: WINDOW_S,
      reducer: 'last',
      evaluator: { type: 'gt', params: [SPOOL_BACKLOG_POINTS] },
      for: '5m',
      summary: 'Spool of collector {{ $labels.host }} held over 10,000 points for 10 min ({{ $values.B }} at least)',
      description:
        'The writer is not keeping up or InfluxDB is refusing writes; the spool keeps the data, until it is full.',
      subject: 'host',
    },
    {
      uid: 'fp-write-errors',
      title: 'InfluxDB write errors',
      severity: 'warning',
      ...collector,
      query: increase(selfMetric.writeErrors, ['host', 'kind']),
      lookbackS: WINDOW_S,
      reducer: 'last',
      evaluator: { type: 'gt', params: [0] },
      for: '0s',
      summary: 'Collector {{ $labels.host }}: {{ $values.B }} failed writes to InfluxDB ({{ $labels.kind }}) in 10 min',
      description:
        'retry: InfluxDB unreachable or overloaded; too_large: batches split; rejected: lines dead-lettered.',
      subject: 'host',
    },
    {
      // Each pass (every downsampler.interval_s, 5 min) retries the failed hours: one failure is
      // not news, failures in three passes in a row are.
      uid: 'fp-rollups-failing',
      title: 'Hourly rollups not written',
      severity: 'warning',
      ...collector,
      query: increase(selfMetric.rollupErrors, ['host', 'measurement']),
      lookbackS: WINDOW_S,
      reducer: 'last',
      evaluator: { type: 'gt', params: [0] },
      for: '15m',
      summary:
        'Collector {{ $labels.host }}: the {{ $labels.measurement }} rollup failed {{ $values.B }} times in 10 min',
      description:
        'The fleet trend and uptime panels that read *_hourly show gaps or stale hours; the raw data is intact and the failed hours are computed again once the queries succeed.',
      subject: 'host',
    },
    {
      uid: 'fp-fleet-data-stale',
      title: 'No device data arriving (InfluxDB or collectors down)',
      severity: 'critical',
      noDataState: 'Alerting',
      execErrState: 'Alerting',
      query: Query.from(deviceStatus).select('count', 'online', 'status_points'),
      lookbackS: 300,
      reducer: 'last',
      evaluator: { type: 'lt', params: [1] },
      for: '2m',
      summary: 'No device_status written in 5 min: InfluxDB unreachable or every collector down',
      description: 'One alert for the whole data path; per-device rules keep their last state meanwhile.',
      subject: 'fleet',
    },
  ];
}
