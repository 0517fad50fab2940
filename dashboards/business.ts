/**
 * The business view: gaming sessions and minutes sold per station and hour, the busiest stations,
 * the peak hours; charging sessions, energy and revenue per site. From what the session scheduler
 * writes (`station_session` per event, PCs and consoles behind plugs alike; `station_sessions_active`
 * per site) and the OCPP plugin's `ocpp_session` (one point per completed session, tagged with the
 * tariff that priced it).
 */
import { stationSession, stationSessionsActive } from '../collector/operations/sessions/session-measurements.ts';
import { session } from '../plugins/ocpp/measurements.ts';
import { Board } from './board.ts';
import { chargingPerSite, REVENUE_NOTE } from './ev-charging.ts';
import { DEVICE_VARIABLES, Query } from './influxql.ts';
import { link, UID } from './links.ts';

const F = DEVICE_VARIABLES;
const TOP = 10;
/** The events that sell minutes: a start and each extension carry `minutes_sold`. */
export const SELLING_EVENTS = ['started', 'extended'];
const HOUR = '1h';

const minutesSold = () =>
  Query.from(stationSession).select('sum', 'minutes_sold').whereAnyOf('event', SELLING_EVENTS).filterBy(F);
const sessionsStarted = () =>
  Query.from(stationSession).select('count', 'session_id', 'sessions').whereField('event', '=', 'started').filterBy(F);
/** The `n` largest `field` values over a per-`tag` subquery, `tag` alongside. */
const topOf = (inner: Query, field: string, tag: string, n = TOP) => Query.fromSubquery(inner).top(field, tag, n);

export function businessDashboard(): Board {
  const board = new Board({
    uid: UID.business,
    title: 'Fleetpulse / Business: sessions sold, charging revenue',
    description:
      'Gaming sessions and minutes sold per station and hour, busiest stations, peak hours; charging sessions, energy and revenue per site and tariff.',
    from: 'now-7d',
    links: [link.apiSessions],
  });
  board
    .row('Gaming sessions')
    .table(
      'Sessions and minutes sold by station',
      [
        { q: sessionsStarted().byTags('device', 'customer', 'site') },
        { q: minutesSold().byTags('device', 'customer', 'site') },
      ],
      {
        w: 12,
        merge: true,
        links: { device: link.deviceDetail },
        description: 'Sessions started in the range and minutes sold (at the start and by each extension) per station.',
      },
    )
    .table(
      `Busiest stations (top ${TOP} by minutes sold)`,
      [{ q: topOf(minutesSold().byTags('device'), 'minutes_sold', 'device') }],
      { w: 12, links: { device: link.deviceDetail } },
    )
    .timeseries(
      'Sessions and minutes sold per hour',
      [{ q: minutesSold().byTime('$__interval', 0) }, { q: sessionsStarted().byTime('$__interval', 0) }],
      { w: 12, minInterval: HOUR },
    )
    .table(
      `Peak hours (top ${TOP} by stations in session)`,
      [{ q: Query.fromSubquery(stationsPerHour()).expression(`top("stations", ${TOP})`, 'stations') }],
      {
        w: 12,
        description: `The ${TOP} hours of the range with most stations in session: each site's peak in the hour (station_sessions_active), summed. Only the site variable narrows it (the count is kept per site).`,
      },
    )
    .timeseries(
      'Stations in session per site',
      [
        {
          q: Query.from(stationSessionsActive)
            .select('max', 'active', 'stations')
            .filterBy(['site'])
            .byTime('$__interval', 'null')
            .byTags('site'),
          legend: '$tag_site',
        },
      ],
      {
        w: 24,
        description: 'Peak per interval of the sessions running at each site. Only the site variable narrows it.',
      },
    )
    .row('Charging')
    .table('Charging sessions, energy and revenue per site', [{ q: chargingPerSite() }], {
      w: 12,
      links: { site: link.site },
      description: `${REVENUE_NOTE} Completed sessions only.`,
    })
    .table(
      'Charging energy and revenue per site and tariff',
      [
        {
          q: Query.from(session)
            .select('sum', 'energy_wh')
            .select('sum', 'cost', 'revenue')
            .filterBy(F)
            .byTags('site', 'tariff'),
        },
      ],
      {
        w: 12,
        links: { site: link.site },
        description: `${REVENUE_NOTE} Per the tariff that priced each completed session; empty for sessions no tariff priced.`,
      },
    )
    .table(
      `Busiest chargers (top ${TOP} by energy)`,
      [
        {
          q: topOf(Query.from(session).select('sum', 'energy_wh').filterBy(F).byTags('device'), 'energy_wh', 'device'),
        },
      ],
      { w: 12, unit: 'watth', links: { device: link.deviceDetail } },
    )
    .timeseries(
      'Charging energy, revenue and sessions per hour',
      [
        {
          q: Query.from(session)
            .select('sum', 'energy_wh')
            .select('sum', 'cost', 'revenue')
            .select('count', 'energy_wh', 'sessions')
            .filterBy(F)
            .byTime('$__interval', 0),
        },
      ],
      { w: 24, minInterval: HOUR },
    );
  return board;
}

/** Stations in session per hour over the range: each site's peak in the hour, summed over sites. */
function stationsPerHour(): Query {
  const perSite = Query.from(stationSessionsActive)
    .select('max', 'active')
    .filterBy(['site'])
    .byTime(HOUR)
    .byTags('site');
  return Query.fromSubquery(perSite).select('sum', 'active', 'stations').byTime(HOUR, 'none');
}
