/** Payment terminals (TC-200): heartbeat, load, errors, transactions, firmware and rollouts. */
import { rolloutFailure, rolloutProgress } from '../collector/operations/measurements.ts';
import { rollupMeasurement } from '../collector/runtime/rollups.ts';
import { terminalStatus } from '../plugins/tc200/measurements.ts';
import { ATTENTION_WINDOW, attentionList } from './attention.ts';
import { Board } from './board.ts';
import { firmwareCounts, FLEET_STATUS_WINDOW } from './fleet-counts.ts';
import { ROLLUP_INTERVAL, ROLLUP_NOTE, rollupMean, rollupSum, rollupTrend } from './fleet-sums.ts';
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
  const board = new Board({
    uid: UID.terminals,
    title: 'Fleetpulse / Payment terminals (TC-200)',
    description:
      'Heartbeat age, CPU/memory/disk, error codes, transactions and failures, firmware versions and rollout progress.',
  });
  // Only the fields and tags each panel shows: every extra one is read for each of the fleet's terminals.
  const heartbeats = (keep: string[], fields: ('state' | 'last_seen_s')[] = ['last_seen_s']) =>
    latestStatus({ filterBy: F, kinds: [KIND.terminal], keep, fields });
  const attention = (states: ('offline' | 'error')[], columns: Parameters<typeof attentionList>[0]['columns']) =>
    attentionList({ filterBy: F, kinds: [KIND.terminal], states, columns, keep: ['customer', 'site'] });
  board
    .row('Heartbeat')
    .stat(
      'Oldest heartbeat',
      [
        {
          q: Query.fromSubquery(heartbeats([]))
            .select('max', 'last_seen_s', 'heartbeat_age_s')
            .within({ kind: 'none' }),
        },
      ],
      {
        unit: 's',
        thresholds: [
          ['green', null],
          ['orange', 120],
          ['red', 300],
        ],
      },
    )
    .table(
      'Terminals offline (no report for 2 intervals)',
      [
        {
          q: attention(
            ['offline'],
            [
              ['last_seen_s', 'heartbeat_age_s'],
              ['since_s', 'offline_for'],
            ],
          ),
        },
      ],
      {
        w: 20,
        unit: 's',
        links: { device: link.deviceDetail, site: link.site },
        description: `Terminals the runtime marks offline (no report for \`liveness.missed_intervals\` heartbeat intervals, default 2, or their uplink closed), from device_attention (last ${ATTENTION_WINDOW}); terminals in maintenance are not listed. \`heartbeat_age_s\`: seconds since the last report (empty if never seen).`,
      },
    )
    .row('Load')
    .timeseries(
      'CPU / memory / disk (fleet mean)',
      [
        {
          q: rollupTrend(hourly, [
            [rollupMean(hourly, 'cpu_pct'), 'cpu_pct'],
            [rollupMean(hourly, 'mem_pct'), 'mem_pct'],
            [rollupMean(hourly, 'disk_pct'), 'disk_pct'],
          ]),
        },
      ],
      {
        w: 12,
        unit: 'percent',
        minInterval: ROLLUP_INTERVAL,
        description: `Mean over every report of every terminal per bucket of at least ${ROLLUP_INTERVAL}. ${ROLLUP_NOTE} The Top ${TOP} tables show the hot terminals now.`,
      },
    )
    .table(
      `Top ${TOP} by CPU (last ${CURRENT_WINDOW})`,
      [{ q: Query.from(terminalStatus).top('cpu_pct', 'device', TOP).filterBy(F).lookback(CURRENT_WINDOW) }],
      { w: 6, unit: 'percent', links: { device: link.deviceDetail } },
    )
    .table(
      `Top ${TOP} by disk (last ${CURRENT_WINDOW})`,
      [{ q: Query.from(terminalStatus).top('disk_pct', 'device', TOP).filterBy(F).lookback(CURRENT_WINDOW) }],
      { w: 6, unit: 'percent', links: { device: link.deviceDetail } },
    )
    .row('Errors and transactions')
    .table(
      'Terminals in error now',
      [
        {
          q: attention(
            ['error'],
            [
              ['reason', 'reason'],
              ['since_s', 'in_error_for'],
            ],
          ),
        },
      ],
      {
        w: 12,
        links: { device: link.deviceDetail },
        description: `Terminals that report but say they cannot work, from the runtime's device_attention (last ${ATTENTION_WINDOW}). \`reason\`: the terminal's error code (0x01f4 as in the TC-200 protocol; empty when it reports state error with code 0); its error history is on the device page.`,
      },
    )
    .timeseries(
      'Error reports per interval',
      [{ q: rollupTrend(hourly, [[rollupSum(hourly, 'error_code_positive'), 'error_reports']], 0) }],
      {
        w: 12,
        minInterval: ROLLUP_INTERVAL,
        description: `Status reports with an error code above 0, per bucket of at least ${ROLLUP_INTERVAL}. ${ROLLUP_NOTE}`,
      },
    )
    .timeseries(
      'Transactions and failures per interval',
      [
        {
          q: rollupTrend(
            hourly,
            [
              [rollupSum(hourly, 'transactions_increase'), 'transactions'],
              [rollupSum(hourly, 'failed_transactions_increase'), 'failed'],
            ],
            'none',
          ),
        },
      ],
      {
        w: 24,
        minInterval: ROLLUP_INTERVAL,
        description: `Every terminal's counter increase, summed, per bucket of at least ${ROLLUP_INTERVAL} (a counter reset counts from zero). ${ROLLUP_NOTE}`,
      },
    )
    .row('Firmware')
    .table('Firmware versions in the fleet', [{ q: firmwareCounts(F, [KIND.terminal], 'terminals') }], {
      w: 8,
      description: `Terminals per firmware version, as the inventory records it (what each terminal last said about itself), from the runtime's fleet_firmware counts (each group's last within ${FLEET_STATUS_WINDOW}). The device variable does not narrow it.`,
    })
    .table('Rollout progress', [{ q: rollouts() }], {
      w: 8,
      description:
        'Each terminal firmware rollout with activity in the range (rollout_progress, written by the rollout scheduler on every device change): devices done, failed and pending, percent done, status. Customer, site and device do not narrow it (a rollout spans them); the rollout page in the API has the per-device detail.',
    })
    .table(
      'Failed updates in rollouts (in the range)',
      [
        {
          q: Query.from(rolloutFailure)
            .select('last', 'error')
            .whereTagIn('kind', [KIND.terminal])
            .filterBy(F)
            .byTags('device', 'customer', 'site', 'rollout', 'version'),
        },
      ],
      {
        w: 8,
        links: { device: link.deviceDetail },
        description:
          "Terminals whose update failed in a rollout within the range (rollout_failure, one point per failed device, written by the rollout scheduler), with the rollout, the target version and why. A terminal updated since by a later rollout still shows here; the firmware-failed alert follows each terminal's own last update step, updates outside rollouts included.",
      },
    );
  return board;
}

/** Each rollout's last progress point in the range, terminal rollouts only (one series per rollout). */
function rollouts(): Query {
  const q = Query.from(rolloutProgress);
  for (const f of ['done', 'failed', 'pending', 'percent', 'status'] as const) q.select('last', f);
  return q.whereTagIn('kind', [KIND.terminal]).filterBy(['kind', 'model']).byTags('rollout', 'version');
}
