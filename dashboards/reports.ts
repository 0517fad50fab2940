/**
 * Monthly reports: uptime per customer and site over last month (maintenance excluded), downtime,
 * and where the contractual figures live. Incidents with MTTA/MTTR come from the API's incident
 * store (acknowledgement times are not in InfluxDB), so this board links to the API report.
 */
import * as text from '@grafana/grafana-foundation-sdk/text';
import { Board } from './board.ts';
import { downtime, uptime } from './availability.ts';
import { DEVICE_VARIABLES } from './influxql.ts';
import { link, UID } from './links.ts';

const F = DEVICE_VARIABLES;
/** Colour steps at the usual contract levels; each customer's own SLA is in the API report. */
const SLA_STEPS: [string, number | null][] = [
  ['red', null],
  ['orange', 99],
  ['yellow', 99.5],
  ['green', 99.9],
];

export function monthlyReports(): Board {
  const board = new Board({
    uid: UID.reports,
    title: 'Fleetpulse / Monthly reports',
    description:
      'Uptime per customer and site against SLA levels, downtime; incidents and MTTA/MTTR in the API report.',
    from: 'now-1M/M',
    to: 'now-1M/M',
    links: [link.apiReports],
  });
  board
    .row('Uptime')
    .stat('Fleet uptime', [{ q: uptime(F) }], { unit: 'percent', thresholds: SLA_STEPS, noValue: 'n/a' })
    .table(
      'Uptime per customer',
      [{ q: uptime(F, ['customer']) }, { q: downtime(F, ['customer']), mayBeEmpty: true }],
      { w: 10, merge: true, unit: 'percent', thresholds: SLA_STEPS, links: { customer: link.customer } },
    )
    .table(
      'Uptime per site',
      [{ q: uptime(F, ['customer', 'site']) }, { q: downtime(F, ['customer', 'site']), mayBeEmpty: true }],
      { w: 10, merge: true, thresholds: SLA_STEPS, links: { site: link.site } },
    )
    .timeseries('Uptime per day', [{ q: uptime(F, ['customer']).byTime('1d', 'none'), legend: '$tag_customer' }], {
      w: 24,
      unit: 'percent',
    })
    .row('Incidents');
  board.addPanel(
    new text.PanelBuilder()
      .title('Incidents, MTTA and MTTR')
      .gridPos({ x: 0, y: 0, w: 24, h: 4 })
      .mode(text.TextMode.Markdown)
      .content(
        'Incidents, time to acknowledge and time to restore per customer are kept by the Fleetpulse API (the alert webhook opens and closes them). See [the API report](${fleetpulse_api}/api/v1/reports).',
      ),
  );
  return board;
}
