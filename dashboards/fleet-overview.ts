/** NOC fleet overview: what is down now, for whom, and how the fleet did over the range. */
import { Board, type PanelOptions } from './board.ts';
import { fleetUptime } from './availability.ts';
import { DEVICE_VARIABLES, Query } from './influxql.ts';
import { link, UID } from './links.ts';
import { selfMetric } from './self-metric-names.ts';
import { fleetCount, fleetGroups, FLEET_STATUS_WINDOW, sumBy, type CountColumn } from './fleet-counts.ts';
import { ATTENTION_WINDOW, attentionList } from './attention.ts';

const F = DEVICE_VARIABLES;

export function fleetOverview(): Board {
  const board = new Board({
    uid: UID.fleet,
    title: 'Fleetpulse / NOC fleet overview',
    description: `Device counts now (the runtime's fleet_status rollup, last ${FLEET_STATUS_WINDOW}), the offline and erroring devices (the runtime's device_attention, last ${ATTENTION_WINDOW}), and uptime over the range.`,
    links: [link.apiReports],
  });
  // One count per stat, aliased `devices` as the per-device counts were.
  const count = (c: CountColumn) => fleetCount(F, c, c === 'online' ? 'online' : 'devices');
  const perGroup = (title: string, by: string[], links: PanelOptions['links'] = {}) =>
    board.table(title, [{ q: fleetGroups(F, TABLE_COUNTS) }], {
      w: 8,
      links,
      description: TABLE_NOTE,
      transformations: sumBy(by, TABLE_COUNTS),
    });
  board
    .row('Now')
    .stat('Devices', [{ q: count('devices') }], { thresholds: [['blue', null]], description: COUNTS_NOTE })
    .stat('Online', [{ q: count('online') }], {
      thresholds: [['green', null]],
      description: `Reachable devices (online or reporting an error). ${COUNTS_NOTE}`,
    })
    .stat('Offline', [{ q: count('offline') }], {
      thresholds: [
        ['green', null],
        ['red', 1],
      ],
      description: COUNTS_NOTE,
    })
    .stat('Error', [{ q: count('error') }], {
      thresholds: [
        ['green', null],
        ['orange', 1],
      ],
      description: COUNTS_NOTE,
    })
    .stat('In maintenance', [{ q: count('maintenance') }], { thresholds: [['blue', null]], description: COUNTS_NOTE })
    .stat('Fleet uptime', [{ q: fleetUptime(F) }], {
      unit: 'percent',
      thresholds: [
        ['red', null],
        ['orange', 99],
        ['green', 99.5],
      ],
      noValue: 'n/a',
      description: UPTIME_NOTE,
    })
    .row('Who is affected')
    .table(
      'Offline and erroring devices',
      [
        {
          q: attentionList({
            filterBy: F,
            states: ['offline', 'error'],
            columns: [
              ['last_seen_s', 'silent_for'],
              ['since_s', 'in_state_for'],
              ['reason', 'reason'],
            ],
          }),
        },
      ],
      { w: 16, h: 10, description: ATTENTION_NOTE, links: { device: link.deviceDetail, site: link.site } },
    )
    .alertList('Active alerts', { w: 8, h: 10 });
  perGroup('Per customer', ['customer'], { customer: link.customer });
  perGroup('Per site', ['customer', 'site'], { site: link.site });
  perGroup('By kind and model', ['kind', 'model']);
  board
    .row('Over the range')
    .timeseries('Uptime per hour', [{ q: fleetUptime(F).byTime('1h', 'none') }], {
      unit: 'percent',
      description: UPTIME_NOTE,
    })
    .timeseries(
      'Devices by state (all collectors)',
      [
        {
          q: Query.fromName(selfMetric.devices)
            .select('last', 'value', 'devices')
            .byTime('$__interval', 'previous')
            .byTags('state', 'host'),
          legend: '$tag_state ($tag_host)',
        },
      ],
      {
        description:
          "The collectors' own count (fleetpulse_devices): cheap over long ranges, not filtered by the variables.",
      },
    );
  return board;
}

const ATTENTION_NOTE = `Every device offline or in error now, from the runtime's device_attention (each device's last point within ${ATTENTION_WINDOW}; written only for such devices). \`silent_for\`: seconds since the device last reported; \`in_state_for\`: seconds in this state; \`reason\`: what the device's plugin said about the error, if anything (details on the device page).`;
const UPTIME_NOTE =
  'Online ÷ (online + error + offline) time, maintenance excluded. From the hourly per-customer rollup the runtime writes (one series per customer and kind, cheap over weeks): the customer and kind variables narrow it, site, model and device do not (uptime per site: the Monthly reports board).';
const COUNTS_NOTE = `From the fleet_status rollup (each group's last count within ${FLEET_STATUS_WINDOW}); the device variable does not narrow it.`;
const TABLE_COUNTS: CountColumn[] = ['devices', 'online', 'offline', 'error', 'maintenance'];
const TABLE_NOTE = `Sums of the fleet_status groups (each one's last count within ${FLEET_STATUS_WINDOW}); \`online\` counts reachable devices, erroring ones included. The device variable does not narrow it.`;
