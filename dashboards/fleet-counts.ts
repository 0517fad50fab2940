/**
 * Fleet device counts "now" from `fleet_status`, the runtime's rollup: one series per
 * (customer, site, kind, model) group instead of one per device, so the NOC stats and tables cost
 * a few thousand series at 20,000 devices, not 20,000 (see docs/grafana.md, "Query cost").
 *
 * Each group's count is its `last()` point within FLEET_STATUS_WINDOW, then summed (stats: in InfluxQL over a
 * one-column subquery; tables: by a Grafana groupBy transformation). Not `sum()` over a short window: a window holds
 * one interval's points or two depending on where the tick fell (and several collectors tick at different moments), so
 * a sum would count some groups twice; `last()` per group is right whatever the timestamps (measured in
 * bench/grafana-queries.ts).
 */
import { FIRMWARE_GROUP_TAGS, FLEET_GROUP_TAGS } from '../collector/runtime/fleet-groups.ts';
import { fleetFirmware, fleetStatus } from '../collector/runtime/measurements.ts';
import { Query, type DeviceVariable } from './influxql.ts';

/**
 * How far back each group's last `fleet_status` point is looked for: two status intervals of the
 * default 60 s, so one late tick leaves no gap. A group whose devices all left (moved site, were
 * removed) still counts for at most this long. Raise it with `liveness.status_interval_s`.
 */
export const FLEET_STATUS_WINDOW = '2m';

/** Counts a panel can show; `online` is reachable devices (online or error), as device_status's `online` is. */
export type CountColumn = 'devices' | 'online' | 'offline' | 'error' | 'maintenance';

const LAST: Record<CountColumn, string> = {
  devices: 'last("total")',
  online: 'last("online") + last("error")',
  offline: 'last("offline")',
  error: 'last("error")',
  maintenance: 'last("maintenance")',
};

/**
 * One fleet-wide count now (stats): the sum over groups of each group's last point. `fleet_status`
 * has no `device` tag, so the device variable does not narrow these counts; customer, site, kind
 * and model do. A subquery with a single column is cheap (one inner pass over the group series);
 * do not add columns: InfluxDB 1.6 re-runs the inner query for every outer aggregate, and five
 * columns grouped per site took 4.5 s at 2,000 groups against 0.2 s for one. `online` (online +
 * error) is therefore added per group inside, not as two sums outside (0.31 s against ≈ 0.07 s
 * for the other stats at 20,000 devices).
 */
export function fleetCount(filterBy: readonly DeviceVariable[], column: CountColumn, alias: string = column): Query {
  const inner = Query.from(fleetStatus).lookback(FLEET_STATUS_WINDOW).expression(LAST[column], column);
  inner.filterBy(filterBy.filter((v) => v !== 'device')).byTags(...FLEET_GROUP_TAGS);
  return Query.fromSubquery(inner).within({ kind: 'none' }).select('sum', column, alias);
}

/**
 * Every group's counts now, one row per (customer, site, kind, model), with the table columns
 * already computed per group; the panel sums them per customer, site or kind+model with
 * `sumBy` (a Grafana transformation, as InfluxQL cannot do it cheaply: see `fleetCount`).
 */
export function fleetGroups(filterBy: readonly DeviceVariable[], columns: readonly CountColumn[]): Query {
  const q = Query.from(fleetStatus).lookback(FLEET_STATUS_WINDOW);
  for (const c of columns) q.expression(LAST[c], c);
  return q.filterBy(filterBy.filter((v) => v !== 'device')).byTags(...FLEET_GROUP_TAGS);
}

/**
 * Grafana transformations: sum `columns` per value of the `by` columns (the group rows of
 * `fleetGroups`), then give the sums their column names back (groupBy calls them `devices (sum)`).
 */
export function sumBy(by: readonly string[], columns: readonly CountColumn[]) {
  const fields: Record<string, { operation: 'groupby' | 'aggregate'; aggregations: string[] }> = {};
  for (const t of by) fields[t] = { operation: 'groupby', aggregations: [] };
  for (const c of columns) fields[c] = { operation: 'aggregate', aggregations: ['sum'] };
  return [
    { id: 'groupBy', options: { fields } },
    { id: 'organize', options: { renameByName: Object.fromEntries(columns.map((c) => [`${c} (sum)`, c])) } },
  ];
}

/**
 * Devices per firmware version now, from `fleet_firmware` (the runtime's count per customer, site,
 * kind, model and firmware, every status interval): each group's last count within
 * FLEET_STATUS_WINDOW, summed per `firmware` (one column, so one inner pass). Firmware is what the
 * inventory records, i.e. what each device last said about itself. No `device` tag: the device
 * variable does not narrow it.
 */
export function firmwareCounts(
  filterBy: readonly DeviceVariable[],
  kinds: readonly string[],
  alias = 'devices',
): Query {
  const inner = Query.from(fleetFirmware)
    .lookback(FLEET_STATUS_WINDOW)
    .select('last', 'devices')
    .whereTagIn('kind', kinds);
  inner.filterBy(filterBy.filter((v) => v !== 'device')).byTags(...FIRMWARE_GROUP_TAGS);
  return Query.fromSubquery(inner).select('sum', 'devices', alias).byTags('firmware').within({ kind: 'none' });
}
