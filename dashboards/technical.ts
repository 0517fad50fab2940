/**
 * The technical board: how the API answers (request rate, mean latency, server-error share by
 * route template and status class), and what can stop the collector before its pipeline shows it
 * (oldest point in the spool, free disk in data_dir, SQLite inventory errors). Points in and out,
 * spool depth and drops by reason are the collector board's, linked rather than repeated.
 * Latency is a mean: the self-metrics keep a histogram's sum and count, not its buckets.
 */
import { DATA_DISK_FREE_BYTES, SPOOL_AGE_S } from '../alerting/collector-rules.ts';
import { Board } from './board.ts';
import { Query } from './influxql.ts';
import { UID } from './links.ts';
import { selfMetric, type SelfMetricField } from './self-metric-names.ts';

/** The tags of one request series; each is differenced on its own before series are summed. */
const HTTP_SERIES = ['host', 'route', 'method', 'status_class'];
const byHost = <F extends string = 'value'>(name: string) => Query.fromName<F>(name).where(`"host" =~ /^$host$/`);

/** A counter's increase, each series differenced on its own per interval, then summed per `by`. */
function increaseBy(name: string, series: string[], by: string[], alias: string, where?: (q: Query) => Query): Query {
  let inner = byHost(name)
    .increase('value', 'n')
    .byTime('$__interval')
    .byTags(...series);
  if (where) inner = where(inner);
  return Query.fromSubquery(inner)
    .select('sum', 'n', alias)
    .byTags(...by);
}

/** Requests answered over the range per route and method, optionally of one status class only. */
const requestsOverRange = (alias: string, statusClass?: string) =>
  increaseBy(selfMetric.httpRequests, HTTP_SERIES, ['route', 'method'], alias, (inner) =>
    statusClass ? inner.whereTag('status_class', '=', statusClass) : inner,
  );

export function technicalDashboard(): Board {
  const board = new Board({
    uid: UID.technical,
    title: 'Fleetpulse / Technical: API, spool, disk, inventory',
    description:
      'API request rate, latency and server errors by route; oldest spooled point, free disk in data_dir, inventory database errors. Pipeline throughput and drops: the collector board.',
    variables: 'collector',
    links: [{ title: 'Collector self-monitoring', url: `/d/${UID.collector}/collector?\${__url_time_range}` }],
  });
  const perSecond = byHost(selfMetric.httpRequests)
    .rate('value', 'req_per_s')
    .byTime('$__interval')
    .byTags(...HTTP_SERIES);
  const latency = byHost<SelfMetricField>(selfMetric.httpDuration)
    .increase('sum', 'seconds')
    .increase('count', 'requests')
    .byTime('$__interval')
    .byTags(...HTTP_SERIES);
  board
    .row('API')
    .timeseries(
      'API requests (per s, by route and status class)',
      [
        {
          q: Query.fromSubquery(perSecond)
            .select('sum', 'req_per_s', 'req_per_s')
            .byTime('$__interval', 'none')
            .byTags('route', 'status_class'),
          legend: '$tag_route $tag_status_class',
        },
      ],
      { w: 12, unit: 'reqps' },
    )
    .timeseries(
      'API latency (mean, by route)',
      [
        {
          q: Query.fromSubquery(latency)
            .expression('sum("seconds") / sum("requests")', 'mean_s')
            .byTime('$__interval', 'none')
            .byTags('route'),
          legend: '$tag_route',
        },
      ],
      {
        w: 12,
        unit: 's',
        description:
          'Time per request, all methods and status classes, per interval (a mean: percentiles need buckets).',
      },
    )
    .table(
      'API server errors by route (in the range)',
      [{ q: requestsOverRange('requests') }, { q: requestsOverRange('errors', '5xx'), mayBeEmpty: true }],
      {
        w: 24,
        merge: true,
        transformations: [
          {
            id: 'calculateField',
            options: {
              mode: 'binary',
              binary: { left: 'errors', operator: '/', right: 'requests' },
              alias: 'error_share',
              replaceFields: false,
            },
          },
        ],
        description:
          'Requests per route template and method over the range, those answered 5xx, and their share (fp-api-errors alerts on the count).',
      },
    )
    .row('Spool, disk, inventory')
    .timeseries(
      'Oldest point in the spool',
      [
        {
          q: byHost(selfMetric.spoolOldestAge)
            .select('max', 'value', 'oldest_age_s')
            .byTime('$__interval', 'null')
            .byTags('host'),
          legend: '$tag_host',
        },
      ],
      {
        w: 8,
        unit: 's',
        thresholds: [
          ['green', null],
          ['red', SPOOL_AGE_S],
        ],
      },
    )
    .stat(
      'Free disk in data_dir (lowest collector)',
      [
        {
          q: Query.fromSubquery(byHost(selfMetric.diskFree).select('last', 'value', 'free_bytes').byTags('host'))
            .select('min', 'free_bytes', 'free_bytes')
            .within({ kind: 'none' }),
        },
      ],
      {
        w: 8,
        unit: 'bytes',
        noValue: 'n/a',
        thresholds: [
          ['red', null],
          ['green', DATA_DISK_FREE_BYTES],
        ],
        description: 'Each collector’s last figure in the range; the spool and the SQLite inventory share this disk.',
      },
    )
    .timeseries(
      'Inventory database errors (per interval, by code)',
      [
        {
          q: increaseBy(selfMetric.inventoryErrors, ['host', 'code'], ['host', 'code'], 'errors').byTime(
            '$__interval',
            'none',
          ),
          legend: '$tag_code ($tag_host)',
        },
      ],
      { w: 8 },
    );
  return board;
}
