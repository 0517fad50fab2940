/**
 * Rules on the collector itself (self-metrics, one instance per collector host) and on the data
 * path as a whole. The stale-data rule is the one alert for "InfluxDB unreachable or nothing
 * arriving": it alerts on no data and on errors, while every per-device rule keeps its last state.
 */
import { deviceStatus } from '../collector/runtime/measurements.ts';
import { Query } from '../dashboards/influxql.ts';
import { selfMetric, type SelfMetricField } from '../dashboards/self-metric-names.ts';
import type { RuleSpec } from './rule.ts';

const WINDOW_S = 600;
/** Points waiting in the spool that mean it is not draining (≈ 1 min of a 20,000-device fleet). */
export const SPOOL_BACKLOG_POINTS = 10_000;
const collector = { noDataState: 'OK', execErrState: 'KeepLast' } as const;

/** API responses that are server errors, in the look-back, that mean the API is failing (not one bad request). */
export const API_ERRORS = 10;
/** Mean API response time over the look-back that users notice, s. */
export const API_LATENCY_S = 1;
/** Age of the oldest point in the spool that means it is stuck, not busy, s. */
export const SPOOL_AGE_S = 600;
/** Free bytes in data_dir below which the spool and SQLite are close to disk_full (1 GiB). */
export const DATA_DISK_FREE_BYTES = 1024 ** 3;

/**
 * Increase of a counter over the look-back, per `by`; each series (`series` tags) is differenced
 * on its own before they are summed (counter resets count from zero).
 */
function increase(name: string, by: string[], series: string[] = by, where?: (q: Query) => Query): Query {
  let inner = Query.fromName(name)
    .increase('value', 'delta')
    .byTime('1m')
    .byTags(...series);
  if (where) inner = where(inner);
  return Query.fromSubquery(inner)
    .select('sum', 'delta', 'increase')
    .byTags(...by)
    .within({ kind: 'none' });
}

const HTTP_SERIES = ['host', 'route', 'method', 'status_class'];

/** Mean response time per host over the look-back: increase of the histogram's sum over that of its count. */
function apiLatency(): Query {
  const inner = Query.fromName<SelfMetricField>(selfMetric.httpDuration)
    .increase('sum', 'seconds')
    .increase('count', 'requests')
    .byTime('1m')
    .byTags(...HTTP_SERIES);
  return Query.fromSubquery(inner)
    .expression('sum("seconds") / sum("requests")', 'mean_s')
    .byTags('host')
    .within({ kind: 'none' });
}

/** A collector gauge held past `limit` for the whole look-back (`fn` = min for "above", max for "below"). */
function heldGauge(name: string, fn: 'min' | 'max', alias: string): Query {
  return Query.fromName(name).select(fn, 'value', alias).byTags('host');
}

export function collectorRules(): RuleSpec[] {
  return [
    {
      uid: 'fp-api-errors',
      title: 'API answering with server errors',
      severity: 'critical',
      ...collector,
      query: increase(selfMetric.httpRequests, ['host'], HTTP_SERIES, (q) => q.whereTag('status_class', '=', '5xx')),
      lookbackS: WINDOW_S,
      reducer: 'last',
      evaluator: { type: 'gt', params: [API_ERRORS] },
      for: '0s',
      summary: 'Fleetpulse {{ $labels.host }} answered {{ $values.B }} requests with 5xx in 10 min',
      description:
        'fleetpulse_http_requests_total{status_class="5xx"}, all routes: the API or something it needs (SQLite, InfluxDB) is failing. The route is on the technical board.',
      subject: 'host',
    },
    {
      uid: 'fp-inventory-errors',
      title: 'Inventory database errors',
      severity: 'critical',
      ...collector,
      query: increase(selfMetric.inventoryErrors, ['host'], ['host', 'code']),
      lookbackS: WINDOW_S,
      reducer: 'last',
      evaluator: { type: 'gt', params: [0] },
      for: '0s',
      summary: 'Fleetpulse {{ $labels.host }}: {{ $values.B }} requests failed on the SQLite inventory in 10 min',
      description:
        'fleetpulse_inventory_errors_total (by SQLite code: SQLITE_BUSY, SQLITE_FULL, SQLITE_READONLY, SQLITE_CORRUPT): the inventory, commands and incidents cannot be read or written.',
      subject: 'host',
    },
    {
      uid: 'fp-api-latency',
      title: 'API slow',
      severity: 'warning',
      ...collector,
      query: apiLatency(),
      lookbackS: WINDOW_S,
      reducer: 'last',
      evaluator: { type: 'gt', params: [API_LATENCY_S] },
      for: '5m',
      summary: 'Fleetpulse {{ $labels.host }} took {{ $values.B }} s per request on average over 10 min',
      description:
        'Mean of fleetpulse_http_request_duration_seconds over every route: the server is overloaded or a backing service (SQLite, InfluxDB) is slow.',
      subject: 'host',
    },
    {
      uid: 'fp-spool-stuck',
      title: 'Collector spool not moving',
      severity: 'warning',
      ...collector,
      query: heldGauge(selfMetric.spoolOldestAge, 'min', 'oldest_age_s'),
      lookbackS: 300,
      reducer: 'last',
      evaluator: { type: 'gt', params: [SPOOL_AGE_S] },
      for: '5m',
      summary:
        'The oldest point in the spool of {{ $labels.host }} has waited over 10 min ({{ $values.B }} s at least)',
      description:
        'fleetpulse_spool_oldest_age_seconds stayed above 600 s for 5 min: the writer is not writing (InfluxDB down or refusing), whatever the spool size.',
      subject: 'host',
    },
    {
      uid: 'fp-data-disk-low',
      title: 'Data disk nearly full',
      severity: 'critical',
      ...collector,
      query: heldGauge(selfMetric.diskFree, 'max', 'free_bytes'),
      lookbackS: 300,
      reducer: 'last',
      evaluator: { type: 'lt', params: [DATA_DISK_FREE_BYTES] },
      for: '5m',
      summary: 'data_dir of {{ $labels.host }} has {{ $values.B }} bytes free, under 1 GiB',
      description:
        'fleetpulse_data_disk_free_bytes: the spool and the SQLite inventory share this disk; below pipeline.disk_reserve_bytes new points are refused as disk_full.',
      subject: 'host',
    },
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
