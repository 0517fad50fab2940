/**
 * Gaming venues: stations in session (PCs and consoles behind plugs, from the session scheduler's
 * station_session), sessions set on the stations, session ends not enforced (session_enforcement,
 * what the alert rule reads), PC health, plug power. Minutes sold and peak hours: the business board.
 */
import { sessionEnforcement, stationSession } from '../collector/operations/sessions/session-measurements.ts';
import { hostCpu, hostDisk, hostMemory, hostSession } from '../plugins/host/measurements.ts';
import { plugPower, plugState } from '../plugins/plug/measurements.ts';
import { Board } from './board.ts';
import { latestPerDevice } from './fleet-sums.ts';
import { DEVICE_VARIABLES, Query } from './influxql.ts';
import { link, UID } from './links.ts';

const F = DEVICE_VARIABLES;
/** station_session events after which the session still runs (`stopped` and `ended` close it). */
const RUNNING = ['started', 'extended', 'warned'];

export function gamingDashboard(): Board {
  const board = new Board({
    uid: UID.gaming,
    title: 'Fleetpulse / Gaming venues',
    description: 'Stations in session, session enforcement, PC health, plug power.',
    links: [link.apiSessions],
  });
  const lastEvent = () => latestPerDevice(stationSession, ['event'], F, ['customer', 'site']).lookback('24h');
  board
    .row('Sessions')
    .stat(
      'Stations in session',
      [
        {
          q: Query.fromSubquery(lastEvent())
            .select('count', 'event', 'stations')
            .whereAnyOf('event', RUNNING)
            .within({ kind: 'none' }),
        },
      ],
      {
        thresholds: [['blue', null]],
        description:
          "Stations whose last session event within 24 h leaves a session running: PCs and consoles behind plugs alike (the scheduler's station_session, not the PC agent's host_session).",
      },
    )
    .stat(
      'Session ends not enforced',
      [{ q: Query.from(sessionEnforcement).select('sum', 'failed', 'failures').filterBy(F) }],
      {
        thresholds: [
          ['green', null],
          ['red', 1],
        ],
      },
    )
    .timeseries(
      'Session events per interval',
      [
        {
          q: Query.from(hostSession)
            .select('count', 'event', 'sets')
            .whereField('event', '=', 'set')
            .filterBy(F)
            .byTime('$__interval', 0),
        },
        {
          q: Query.from(hostSession)
            .select('count', 'event', 'enforced')
            .whereField('event', '=', 'enforced')
            .filterBy(F)
            .byTime('$__interval', 0),
          mayBeEmpty: true,
        },
      ],
      { w: 16 },
    )
    .table(
      'Session ends not enforced (server, station or plug)',
      [
        {
          q: Query.from(sessionEnforcement)
            .field('by')
            .field('target')
            .field('error')
            .field('session_id')
            .whereField('failed', '=', 1)
            .filterBy(F)
            .byTags('device', 'action', 'customer', 'site'),
        },
      ],
      { w: 24, links: { device: link.deviceDetail } },
    )
    .row('PC health')
    .timeseries(
      'CPU / memory (fleet mean)',
      [
        { q: Query.from(hostCpu).select('mean', 'usage_pct', 'cpu_pct').filterBy(F).byTime('$__interval', 'null') },
        { q: Query.from(hostMemory).select('mean', 'used_pct', 'mem_pct').filterBy(F).byTime('$__interval', 'null') },
      ],
      { w: 12, unit: 'percent' },
    )
    .table('Fullest disks', [{ q: Query.from(hostDisk).top('used_pct', 'device', 10).filterBy(F).lookback('15m') }], {
      w: 12,
      unit: 'percent',
      links: { device: link.deviceDetail },
    })
    .row('Plugs')
    .timeseries(
      'Plug power per site',
      [
        {
          q: Query.fromSubquery(
            Query.from(plugPower).select('mean', 'power_w').filterBy(F).byTime('$__interval').byTags('device', 'site'),
          )
            .select('sum', 'power_w', 'power_w')
            .byTime('$__interval', 'none')
            .byTags('site'),
          legend: '$tag_site',
        },
      ],
      { w: 16, unit: 'watt' },
    )
    .stat(
      'Plugs on',
      [
        {
          q: Query.fromSubquery(latestPerDevice(plugState, ['on'], F).lookback('15m'))
            .select('sum', 'on', 'plugs_on')
            .within({ kind: 'none' }),
        },
      ],
      { w: 8 },
    );
  return board;
}
