/** POS and sales: orders and sales per store, payment failures by reason, device health. */
import { posHealth, posOrder, posPayment } from '../plugins/pos/measurements.ts';
import { Board } from './board.ts';
import { countBy, latestPerDevice } from './fleet-sums.ts';
import { DEVICE_VARIABLES, Query } from './influxql.ts';
import { link, UID } from './links.ts';

const F = DEVICE_VARIABLES;

export function posDashboard(): Board {
  const board = new Board({
    uid: UID.pos,
    title: 'Fleetpulse / POS and sales',
    description: 'Orders and sales per store, payment failures by reason, POS device health.',
  });
  board
    .row('Sales')
    .table(
      'Orders and sales per store',
      [
        {
          q: Query.from(posOrder)
            .select('count', 'total', 'orders')
            .select('sum', 'total', 'sales')
            .whereTag('status', '=', 'completed')
            .filterBy(F)
            .byTags('customer', 'site', 'store', 'currency'),
        },
      ],
      { w: 12, links: { site: link.site } },
    )
    .timeseries(
      'Sales per interval',
      [
        {
          q: Query.from(posOrder)
            .select('sum', 'total', 'sales')
            .whereTag('status', '=', 'completed')
            .filterBy(F)
            .byTime('$__interval', 0)
            .byTags('currency'),
          legend: '$tag_currency',
        },
      ],
      { w: 12 },
    )
    .row('Payments')
    .table(
      'Payment failures by reason',
      [
        {
          q: Query.from(posPayment)
            .select('count', 'amount', 'failures')
            .whereTag('result', '=', 'failure')
            .filterBy(F)
            .byTags('reason'),
        },
      ],
      { w: 8 },
    )
    .timeseries(
      'Payment attempts and failures',
      [
        { q: Query.from(posPayment).select('count', 'amount', 'attempts').filterBy(F).byTime('$__interval', 0) },
        {
          q: Query.from(posPayment)
            .select('count', 'amount', 'failures')
            .whereTag('result', '=', 'failure')
            .filterBy(F)
            .byTime('$__interval', 0),
        },
      ],
      { w: 16 },
    )
    .row('Devices')
    .table(
      'Printers not ready',
      [
        {
          q: Query.fromSubquery(
            latestPerDevice(posHealth, ['printer', 'printer_ok'], F, ['customer', 'site', 'store']).lookback('1h'),
          )
            .field('printer')
            .field('printer_ok')
            .whereField('printer_ok', '=', 0)
            .byTags('device', 'customer', 'site', 'store')
            .within({ kind: 'none' }),
        },
      ],
      { w: 8, links: { device: link.deviceDetail } },
    )
    .table('App versions', [{ q: latestPerDevice(posHealth, ['app_version'], F) }], {
      w: 8,
      transformations: [countBy('app_version')],
    })
    .timeseries(
      'Signal and battery (fleet mean)',
      [
        {
          q: Query.from(posHealth)
            .select('mean', 'signal_dbm')
            .select('mean', 'battery_pct')
            .filterBy(F)
            .byTime('$__interval', 'null'),
        },
      ],
      { w: 8 },
    );
  return board;
}
