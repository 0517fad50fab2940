/**
 * Fleet device counts "now" from `fleet_status`, the runtime's rollup: one series per
 * (customer, site, kind, model) group instead of one per device, so the NOC stats and tables cost
 * a few thousand series at 20,000 devices, not 20,000 (see docs/grafana.md, "Query cost").
 *
 * Each group's count is its `last()` point within FLEET_STATUS_WINDOW, then summed per panel
 * grouping. Not `sum()` over a short window: a window holds one interval's points or two
 * depending on where the tick fell (and several collectors tick at different moments), so a sum
 * would count some groups twice; `last()` per group is right whatever the timestamps. The
 * subquery is what InfluxDB 1.6 is slow at only over many series; here it reads one or two points
 * of each group series (measured in bench/grafana-queries.ts).
 */
import { FLEET_GROUP_TAGS } from '../collector/runtime/liveness.ts';
import { fleetStatus } from '../collector/runtime/measurements.ts';
import { Query, type DeviceVariable } from './influxql.ts';

/**
 * How far back each group's last `fleet_status` point is looked for: two status intervals of the
 * default 60 s, so one late tick leaves no gap. A group whose devices all left (moved site, were
 * removed) still counts for at most this long. Raise it with `liveness.status_interval_s`.
 */
export const FLEET_STATUS_WINDOW = '2m';

type CountField = keyof (typeof fleetStatus)['fields'];

/** Counts a panel can show; `online` is reachable devices (online or error), as device_status's `online` is. */
export type CountColumn = 'devices' | 'online' | 'offline' | 'error' | 'maintenance';

const SUM: Record<CountColumn, string> = {
  devices: 'sum("total")',
  online: 'sum("online") + sum("error")',
  offline: 'sum("offline")',
  error: 'sum("error")',
  maintenance: 'sum("maintenance")',
};
const NEEDS: Record<CountColumn, CountField[]> = {
  devices: ['total'], online: ['online', 'error'], offline: ['offline'], error: ['error'], maintenance: ['maintenance'],
};

/**
 * Device counts now, per `by` tags (none: one fleet-wide row). `fleet_status` has no `device`
 * tag, so the device variable does not narrow these counts; customer, site, kind and model do.
 * `alias` renames a column (stats keep their historical `devices`).
 */
export function fleetCounts(filterBy: readonly DeviceVariable[], columns: readonly CountColumn[], by: readonly string[] = [], alias: Partial<Record<CountColumn, string>> = {}): Query {
  const inner = Query.from(fleetStatus).lookback(FLEET_STATUS_WINDOW);
  for (const f of new Set(columns.flatMap((c) => NEEDS[c]))) inner.select('last', f);
  inner.filterBy(filterBy.filter((v) => v !== 'device')).byTags(...FLEET_GROUP_TAGS);
  const outer = Query.fromSubquery(inner).within({ kind: 'none' }).byTags(...by);
  for (const c of columns) outer.expression(SUM[c], alias[c] ?? c);
  return outer;
}
