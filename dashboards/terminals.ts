/** Payment terminals (TC-200): heartbeat, load, errors, transactions, firmware and rollouts. */
import { rollupMeasurement } from '../collector/runtime/rollups.ts';
import { terminalFirmware, terminalInfo, terminalStatus } from '../plugins/tc200/metrics.ts';
import { Board } from './board.ts';
import { countBy, latestPerDevice, ROLLUP_INTERVAL, ROLLUP_NOTE, rollupMean, rollupSum, rollupTrend } from './fleet-sums.ts';
import { DEVICE_VARIABLES, Query } from './influxql.ts';
import { KIND } from './kinds.ts';
import { link, UID } from './links.ts';
import { CURRENT_WINDOW, latestStatus } from './status-queries.ts';

const F = DEVICE_VARIABLES;
const TOP = 10;
/**
 * The fleet-wide trends read `terminal_status_hourly` (the downsampler's rollup per customer, site,
 * kind and model), not every terminal's reports: over raw points InfluxDB 1.x pays per terminal
 * and bucket (≈ 11–14 s per panel at 20,000 devices × 24 h, see docs/grafana.md).
 */
const hourly = rollupMeasurement(terminalStatus);

export function terminalsDashboard(): Board {
  const board = new Board({ uid: UID.terminals, title: 'Fleetpulse / Payment terminals (TC-200)', description: 'Heartbeat age, CPU/memory/disk, error codes, transactions and failures, firmware versions and rollout progress.' });
  // Only the fields and tags each panel shows: every extra one is read for each of the fleet's terminals.
  const heartbeats = (keep: string[], fields: ('state' | 'last_seen_s')[] = ['last_seen_s']) => latestStatus({ filterBy: F, kinds: [KIND.terminal], keep, fields });
  board
    .row('Heartbeat')
    .stat('Oldest heartbeat', [{ q: Query.fromSubquery(heartbeats([])).select('max', 'last_seen_s', 'heartbeat_age_s').within({ kind: 'none' }) }], { unit: 's', thresholds: [['green', null], ['orange', 120], ['red', 300]] })
    .table(
      'Terminals silent over 2 min',
      [{ q: Query.fromSubquery(heartbeats(['customer', 'site'], ['state', 'last_seen_s'])).field('last_seen_s', 'heartbeat_age_s').field('state').whereField('last_seen_s', '>', 120).byTags('device', 'customer', 'site').within({ kind: 'none' }) }],
      { w: 20, unit: 's', links: { device: link.deviceDetail, site: link.site } },
    )
    .row('Load')
    .timeseries('CPU / memory / disk (fleet mean)', [{ q: rollupTrend(hourly, [[rollupMean(hourly, 'cpu_pct'), 'cpu_pct'], [rollupMean(hourly, 'mem_pct'), 'mem_pct'], [rollupMean(hourly, 'disk_pct'), 'disk_pct']]) }], {
      w: 12,
      unit: 'percent',
      minInterval: ROLLUP_INTERVAL,
      description: `Mean over every report of every terminal per bucket of at least ${ROLLUP_INTERVAL}. ${ROLLUP_NOTE} The Top ${TOP} tables show the hot terminals now.`,
    })
    .table(`Top ${TOP} by CPU (last ${CURRENT_WINDOW})`, [{ q: Query.from(terminalStatus).top('cpu_pct', 'device', TOP).filterBy(F).lookback(CURRENT_WINDOW) }], { w: 6, unit: 'percent', links: { device: link.deviceDetail } })
    .table(`Top ${TOP} by disk (last ${CURRENT_WINDOW})`, [{ q: Query.from(terminalStatus).top('disk_pct', 'device', TOP).filterBy(F).lookback(CURRENT_WINDOW) }], { w: 6, unit: 'percent', links: { device: link.deviceDetail } })
    .row('Errors and transactions')
    .table(
      'Terminals in error now',
      [{ q: Query.fromSubquery(latestPerDevice(terminalStatus, ['state', 'error_code'], F, ['customer', 'site']).lookback(CURRENT_WINDOW)).field('error_code').field('state').whereField('state', '=', 'error').byTags('device', 'customer', 'site').within({ kind: 'none' }) }],
      { w: 12, links: { device: link.deviceDetail } },
    )
    .timeseries('Error reports per interval', [{ q: rollupTrend(hourly, [[rollupSum(hourly, 'error_code_positive'), 'error_reports']], 0) }], {
      w: 12,
      minInterval: ROLLUP_INTERVAL,
      description: `Status reports with an error code above 0, per bucket of at least ${ROLLUP_INTERVAL}. ${ROLLUP_NOTE}`,
    })
    .timeseries('Transactions and failures per interval', [{ q: rollupTrend(hourly, [[rollupSum(hourly, 'transactions_increase'), 'transactions'], [rollupSum(hourly, 'failed_transactions_increase'), 'failed']], 'none') }], {
      w: 24,
      minInterval: ROLLUP_INTERVAL,
      description: `Every terminal's counter increase, summed, per bucket of at least ${ROLLUP_INTERVAL} (a counter reset counts from zero). ${ROLLUP_NOTE}`,
    })
    .row('Firmware')
    .table('Firmware versions in the fleet', [{ q: latestPerDevice(terminalInfo, ['firmware'], F) }], { w: 8, transformations: [countBy('firmware')] })
    .table('Rollout progress (latest step per terminal)', [{ q: latestPerDevice(terminalFirmware, ['state', 'to_version'], F) }], { w: 8, transformations: [countBy('state')] })
    .table(
      'Failed updates',
      [{ q: Query.fromSubquery(latestPerDevice(terminalFirmware, ['state', 'to_version', 'error'], F, ['customer', 'site'])).field('to_version').field('error').field('state').whereField('state', '=', 'update_failed').byTags('device', 'customer', 'site').within({ kind: 'none' }) }],
      { w: 8, links: { device: link.deviceDetail } },
    );
  return board;
}
