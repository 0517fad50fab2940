/** Payment terminals (TC-200): heartbeat, load, errors, transactions, firmware and rollouts. */
import { terminalFirmware, terminalInfo, terminalStatus } from '../plugins/tc200/metrics.ts';
import { Board } from './board.ts';
import { countBy, counterIncrease, latestPerDevice } from './fleet-sums.ts';
import { DEVICE_VARIABLES, Query } from './influxql.ts';
import { KIND } from './kinds.ts';
import { link, UID } from './links.ts';
import { CURRENT_WINDOW, latestStatus } from './status-queries.ts';

const F = DEVICE_VARIABLES;
const TOP = 10;
/**
 * Smallest bucket of the fleet-wide trends over raw `terminal_status`: InfluxDB 1.x aggregates
 * each terminal's bucket separately, so 24 h of 20,000 terminals at Grafana's 1 min is ~30 M
 * partial results (over 60 s) and at 1 h ~400 k.
 */
const FLEET_TREND_INTERVAL = '1h';

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
    .timeseries('CPU / memory / disk (fleet mean)', [{ q: Query.from(terminalStatus).select('mean', 'cpu_pct').select('mean', 'mem_pct').select('mean', 'disk_pct').filterBy(F).byTime('$__interval', 'null') }], {
      w: 12,
      unit: 'percent',
      minInterval: FLEET_TREND_INTERVAL,
      description: `Mean over every terminal per bucket of at least ${FLEET_TREND_INTERVAL} (InfluxDB 1.x pays per terminal and bucket); the Top ${TOP} tables show the hot ones now.`,
    })
    .table(`Top ${TOP} by CPU (last ${CURRENT_WINDOW})`, [{ q: Query.from(terminalStatus).top('cpu_pct', 'device', TOP).filterBy(F).lookback(CURRENT_WINDOW) }], { w: 6, unit: 'percent', links: { device: link.deviceDetail } })
    .table(`Top ${TOP} by disk (last ${CURRENT_WINDOW})`, [{ q: Query.from(terminalStatus).top('disk_pct', 'device', TOP).filterBy(F).lookback(CURRENT_WINDOW) }], { w: 6, unit: 'percent', links: { device: link.deviceDetail } })
    .row('Errors and transactions')
    .table(
      'Terminals in error now',
      [{ q: Query.fromSubquery(latestPerDevice(terminalStatus, ['state', 'error_code'], F, ['customer', 'site']).lookback(CURRENT_WINDOW)).field('error_code').field('state').whereField('state', '=', 'error').byTags('device', 'customer', 'site').within({ kind: 'none' }) }],
      { w: 12, links: { device: link.deviceDetail } },
    )
    .timeseries('Error reports per interval', [{ q: Query.from(terminalStatus).select('count', 'error_code', 'error_reports').whereField('error_code', '>', 0).filterBy(F).byTime('$__interval', 0) }], { w: 12, minInterval: '5m' })
    .timeseries('Transactions and failures per interval', [{ q: counterIncrease(terminalStatus, 'transactions', 'transactions') }, { q: counterIncrease(terminalStatus, 'failed_transactions', 'failed') }], {
      w: 24,
      minInterval: FLEET_TREND_INTERVAL,
      description: `Summed over every terminal's counter increase per bucket of at least ${FLEET_TREND_INTERVAL}: a per-terminal scan, so the bucket is coarse.`,
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
