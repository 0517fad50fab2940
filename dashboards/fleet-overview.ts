/** NOC fleet overview: what is down now, for whom, and how the fleet did over the range. */
import { Board } from './board.ts';
import { uptime } from './availability.ts';
import { DEVICE_VARIABLES, Query } from './influxql.ts';
import { link, UID } from './links.ts';
import { selfMetric } from './self-metric-names.ts';
import { CURRENT_WINDOW, devicesInState, devicesOnline, latestStatus } from './status-queries.ts';

const F = DEVICE_VARIABLES;

export function fleetOverview(): Board {
  const board = new Board({
    uid: UID.fleet,
    title: 'Fleetpulse / NOC fleet overview',
    description: `Every device's current state (its last status within ${CURRENT_WINDOW}), who is affected, and uptime over the range.`,
    links: [link.apiReports],
  });
  const total = Query.fromSubquery(latestStatus({ filterBy: F, keep: [], fields: ['online'] })).select('count', 'online', 'devices').within({ kind: 'none' });
  board
    .row('Now')
    .stat('Devices', [{ q: total }], { thresholds: [['blue', null]] })
    .stat('Online', [{ q: onlineOnly() }], { thresholds: [['green', null]] })
    .stat('Offline', [{ q: devicesInState('offline', F) }], { thresholds: [['green', null], ['red', 1]] })
    .stat('Error', [{ q: devicesInState('error', F) }], { thresholds: [['green', null], ['orange', 1]] })
    .stat('In maintenance', [{ q: devicesInState('maintenance', F) }], { thresholds: [['blue', null]] })
    .stat('Fleet uptime', [{ q: uptime(F) }], { unit: 'percent', thresholds: [['red', null], ['orange', 99], ['green', 99.5]], noValue: 'n/a' })
    .row('Who is affected')
    .table(
      'Offline and erroring devices',
      [{ q: Query.fromSubquery(latestStatus({ filterBy: F, fields: ['state', 'last_seen_s'] })).field('state').field('last_seen_s', 'silent_for').whereAnyOf('state', ['offline', 'error']).byTags('device', 'kind', 'model', 'customer', 'site').within({ kind: 'none' }) }],
      { w: 16, h: 10, description: '`silent_for`: seconds since the device last reported.', links: { device: link.deviceDetail, site: link.site } },
    )
    .alertList('Active alerts', { w: 8, h: 10 })
    .table('Per customer', [{ q: devicesOnline(F, ['customer']) }, { q: devicesInState('error', F, ['customer']), mayBeEmpty: true }], { w: 8, merge: true, links: { customer: link.customer } })
    .table('Per site', [{ q: devicesOnline(F, ['customer', 'site']) }], { w: 8, links: { site: link.site } })
    .table('By kind and model', [{ q: devicesOnline(F, ['kind', 'model']) }], { w: 8 })
    .row('Over the range')
    .timeseries('Uptime per hour', [{ q: uptime(F).byTime('1h', 'none') }], { unit: 'percent', description: 'From the hourly device_availability rollup; maintenance excluded.' })
    .timeseries(
      'Devices by state (all collectors)',
      [{ q: Query.fromName(selfMetric.devices).select('last', 'value', 'devices').byTime('$__interval', 'previous').byTags('state', 'host'), legend: '$tag_state ($tag_host)' }],
      { description: 'The collectors\' own count (fleetpulse_devices): cheap over long ranges, not filtered by the variables.' },
    );
  return board;
}

function onlineOnly(): Query {
  return Query.fromSubquery(latestStatus({ filterBy: F, keep: [], fields: ['online'] })).select('sum', 'online', 'online').within({ kind: 'none' });
}
