/**
 * EV charging: connectors by status, power and energy, sessions, energy and revenue per site, faults, chargers offline.
 */
import {
  chargerError,
  chargingLimit,
  connectorStatus,
  meter,
  ocppEvent,
  securityEvent,
  session,
  sitePower,
} from '../plugins/ocpp/measurements.ts';
import { METER_FIELDS } from '../plugins/ocpp/meter.ts';
import { Board } from './board.ts';
import { countBy, latestPerDevice } from './fleet-sums.ts';
import { DEVICE_VARIABLES, Query } from './influxql.ts';
import { KIND } from './kinds.ts';
import { link, UID } from './links.ts';
import { CURRENT_WINDOW, latestStatus } from './status-queries.ts';

const F = DEVICE_VARIABLES;
const POWER = METER_FIELDS['Power.Active.Import'].field;
/** Connector states that mean a car is being served: 1.6 Charging/SuspendedEV(SE), 2.0.1 Occupied. */
const ACTIVE = ['Charging', 'SuspendedEV', 'SuspendedEVSE', 'Occupied'];

/** Completed charging sessions over the range per site: energy, revenue, count (also on the business board). */
export function chargingPerSite(): Query {
  return Query.from(session)
    .select('sum', 'energy_wh')
    .select('sum', 'cost', 'revenue')
    .select('count', 'energy_wh', 'sessions')
    .filterBy(F)
    .byTags('customer', 'site');
}
export const REVENUE_NOTE =
  "Revenue adds session totals as charged, in each tariff's currency (one currency per site is the norm).";

export function evChargingDashboard(): Board {
  const board = new Board({
    uid: UID.charging,
    title: 'Fleetpulse / EV charging',
    description:
      'Connectors by status, power and energy, sessions, energy and revenue per site, faults by code, chargers offline.',
  });
  const connectors = () =>
    latestPerDevice(connectorStatus, ['status'], F, ['connector', 'customer', 'site']).lookback('24h');
  board
    .row('Now')
    .stat(
      'Chargers offline',
      [
        {
          q: Query.fromSubquery(latestStatus({ filterBy: F, kinds: [KIND.charger], keep: [] }))
            .select('count', 'state', 'devices')
            .whereField('state', '=', 'offline')
            .within({ kind: 'none' }),
        },
      ],
      {
        thresholds: [
          ['green', null],
          ['red', 1],
        ],
      },
    )
    .stat(
      'Active sessions',
      [
        {
          q: Query.fromSubquery(connectors())
            .select('count', 'status', 'connectors')
            .whereAnyOf('status', ACTIVE)
            .within({ kind: 'none' }),
        },
      ],
      { thresholds: [['blue', null]] },
    )
    .stat(
      'Faulted connectors',
      [
        {
          q: Query.fromSubquery(connectors())
            .select('count', 'status', 'connectors')
            .whereField('status', '=', 'Faulted')
            .within({ kind: 'none' }),
        },
      ],
      {
        thresholds: [
          ['green', null],
          ['red', 1],
        ],
      },
    )
    .table('Connectors by status', [{ q: connectors() }], {
      w: 6,
      transformations: [countBy('status')],
      description: "Each connector's last StatusNotification within 24 h.",
    })
    .table(
      'Chargers offline or faulted',
      [
        {
          q: Query.fromSubquery(latestStatus({ filterBy: F, kinds: [KIND.charger] }))
            .field('state')
            .field('last_seen_s', 'silent_for')
            .whereAnyOf('state', ['offline', 'error'])
            .byTags('device', 'customer', 'site')
            .within({ kind: 'none' }),
        },
      ],
      { w: 6, links: { device: link.deviceDetail } },
    )
    .row('Power and energy')
    .timeseries(
      'Power drawn (all chargers)',
      [
        {
          q: Query.fromSubquery(
            Query.fromName<string>(meter.name)
              .select('mean', POWER, 'power_w')
              .filterBy(F)
              .byTime('$__interval')
              .byTags('device', 'connector'),
          )
            .select('sum', 'power_w', 'power_w')
            .byTime('$__interval', 'none'),
        },
      ],
      { w: 12, unit: 'watt' },
    )
    .timeseries(
      'Energy delivered per interval (completed sessions)',
      [
        {
          q: Query.from(session)
            .select('sum', 'energy_wh')
            .select('count', 'energy_wh', 'sessions')
            .filterBy(F)
            .byTime('$__interval', 0),
        },
      ],
      { w: 12, unit: 'watth' },
    )
    .table(
      'Energy and revenue per site',
      [
        {
          q: chargingPerSite(),
        },
      ],
      {
        w: 12,
        links: { site: link.site },
        description: REVENUE_NOTE,
      },
    )
    .table(
      'Faults by error code',
      [{ q: Query.from(chargerError).field('code').filterBy(F).byTags('device'), mayBeEmpty: false }],
      { w: 12, transformations: [countBy('code')] },
    )
    .timeseries(
      `Faults per interval`,
      [{ q: Query.from(chargerError).select('count', 'code', 'faults').filterBy(F).byTime('$__interval', 0) }],
      { w: 24, description: `Faults reported; the current state is in the stats above (last ${CURRENT_WINDOW}).` },
    )
    .row('Smart charging')
    .timeseries(
      'Site power against its limit',
      [
        {
          // Site points carry no device, kind or model: only the customer and site variables apply.
          q: Query.from(sitePower)
            .select('max', 'drawn_w')
            .select('max', 'limit_w')
            .filterBy(['customer', 'site'])
            .byTime('$__interval', 'none')
            .byTags('customer', 'site'),
        },
      ],
      {
        w: 12,
        unit: 'watt',
        description:
          "Sites with a power limit (PUT /api/v1/sites/<site>/power-limit): the sum of their active sessions' power beside the limit. Over it for 5 min raises fp-site-over-power-limit.",
      },
    )
    .timeseries(
      'Charger power against its profile limit',
      [
        {
          q: Query.from(chargingLimit)
            .select('max', 'drawn_w')
            .select('min', 'limit_w')
            .filterBy(F)
            .byTime('$__interval', 'none')
            .byTags('device', 'connector'),
        },
      ],
      {
        w: 12,
        unit: 'watt',
        description:
          'Per connector / EVSE holding a charging profile: its power beside the limit its profiles put on it (site share, TxDefault, station max). A charger drawing past it raises fp-charger-ignoring-profile.',
      },
    )
    .table(
      'Security events',
      [
        {
          q: Query.from(securityEvent).field('type').field('critical').field('tech_info').filterBy(F).byTags('device'),
        },
      ],
      {
        w: 24,
        description:
          'SecurityEventNotifications; tamper, a cleared security log and memory exhaustion also raise fp-charger-security-event.',
      },
    )
    .table(
      'Monitoring events',
      [
        {
          q: Query.from(ocppEvent)
            .field('severity')
            .field('trigger')
            .field('actual_value')
            .field('alerting')
            .filterBy(F)
            .byTags('device', 'component', 'variable'),
        },
      ],
      {
        w: 24,
        description:
          '2.0.1 NotifyEvent: a monitor that fired, with its severity (0 Danger … 9 Debug); alerting = at or below plugins.ocpp.event_alert_severity, which raises fp-charger-severe-event.',
      },
    );
  return board;
}
