/**
 * The collector watching itself: what goes in and out, what waits in the spool, what was lost
 * and why, how writes and commands fare. From the `fleetpulse_*` self-metrics (counters as
 * rates or increases per interval; histograms as sum/count, so averages, not percentiles).
 */
import { Board } from './board.ts';
import { Query } from './influxql.ts';
import { UID } from './links.ts';
import { selfMetric } from './self-metric-names.ts';

const HOST = 'host';
const byHost = (name: string) => Query.fromName<'value'>(name).where(`"${HOST}" =~ /^$host$/`);

/** Average of a histogram over each interval: rate(sum) / rate(count). */
function histogramAverage(name: string, by: string[]): Query {
  const inner = Query.fromName<'sum' | 'count'>(name)
    .where(`"${HOST}" =~ /^$host$/`)
    .rate('sum', 'sum_rate')
    .rate('count', 'count_rate')
    .byTime('$__interval', 'null')
    .byTags(...by);
  return Query.fromSubquery(inner)
    .expression('"sum_rate" / "count_rate"', 'avg_s')
    .byTags(...by)
    .within({ kind: 'none' });
}

export function collectorSelfMonitoring(): Board {
  const board = new Board({
    uid: UID.collector,
    title: 'Fleetpulse / Collector self-monitoring',
    description: 'Points in and out, spool, drops, write errors and latency, plugin connections, commands.',
    variables: 'collector',
  });
  board
    .row('Pipeline')
    .timeseries(
      'Points in (per s, by plugin)',
      [
        {
          q: byHost(selfMetric.pointsEmitted)
            .rate('value', 'points_per_s')
            .byTime('$__interval', 'null')
            .byTags('plugin'),
          legend: '$tag_plugin',
        },
      ],
      { w: 8, unit: 'pps' },
    )
    .timeseries(
      'Points written (per s)',
      [
        {
          q: byHost(selfMetric.pointsWritten).rate('value', 'points_per_s').byTime('$__interval', 'null').byTags(HOST),
          legend: '$tag_host',
        },
      ],
      { w: 8, unit: 'pps' },
    )
    .timeseries(
      'Spool',
      [
        {
          q: byHost(selfMetric.spoolPoints)
            .select('last', 'value', 'points')
            .byTime('$__interval', 'previous')
            .byTags(HOST),
          legend: 'points $tag_host',
        },
      ],
      { w: 8, unit: 'short' },
    )
    .timeseries(
      'Dropped points (per interval, by reason)',
      [
        {
          q: byHost(selfMetric.pointsDropped)
            .increase('value', 'dropped')
            .byTime('$__interval', 'null')
            .byTags(HOST, 'reason'),
          legend: '$tag_reason ($tag_host)',
          mayBeEmpty: false,
        },
      ],
      { w: 8 },
    )
    .timeseries(
      'Write errors (per interval, by kind)',
      [
        {
          q: byHost(selfMetric.writeErrors)
            .increase('value', 'errors')
            .byTime('$__interval', 'null')
            .byTags(HOST, 'kind'),
          legend: '$tag_kind ($tag_host)',
        },
      ],
      { w: 8 },
    )
    .timeseries(
      'Write latency (average)',
      [{ q: histogramAverage(selfMetric.writeLatency, [HOST]), legend: '$tag_host' }],
      { w: 8, unit: 's' },
    )
    .timeseries(
      'Points refused at emit (per interval)',
      [
        {
          q: byHost(selfMetric.pointsInvalid)
            .increase('value', 'invalid')
            .byTime('$__interval', 'null')
            .byTags('plugin', 'measurement'),
          legend: '$tag_plugin $tag_measurement',
          mayBeEmpty: true,
        },
      ],
      { w: 12 },
    )
    .row('Plugins')
    .table(
      'Plugins up',
      [{ q: byHost(selfMetric.pluginUp).select('last', 'value', 'up').lookback('5m').byTags(HOST, 'plugin') }],
      { w: 8 },
    )
    .timeseries(
      'Connections and gauges, by plugin',
      [
        {
          q: byHost(selfMetric.pluginGauge)
            .select('last', 'value', 'value')
            .byTime('$__interval', 'previous')
            .byTags('plugin', 'name'),
          legend: '$tag_plugin $tag_name',
        },
      ],
      { w: 16 },
    )
    .timeseries(
      'Plugin events (per interval)',
      [
        {
          q: byHost(selfMetric.pluginEvents)
            .increase('value', 'events')
            .byTime('$__interval', 'null')
            .byTags('plugin', 'event'),
          legend: '$tag_plugin $tag_event',
          mayBeEmpty: true,
        },
      ],
      { w: 24 },
    )
    .row('Commands')
    .timeseries(
      'Command outcomes (per interval)',
      [
        {
          q: byHost(selfMetric.commands)
            .increase('value', 'commands')
            .byTime('$__interval', 'null')
            .byTags('command', 'outcome'),
          legend: '$tag_command $tag_outcome',
        },
      ],
      { w: 12 },
    )
    .timeseries(
      'Command latency (average)',
      [{ q: histogramAverage(selfMetric.commandLatency, ['command']), legend: '$tag_command' }],
      { w: 12, unit: 's' },
    );
  return board;
}
