/**
 * Fleet-wide trends from the hourly per-group rollups (`<measurement>_hourly`, written by the
 * runtime's downsampler), the raw-point forms they replace (kept as the benchmark's reference),
 * and per-device "latest" tables, shared by device-kind dashboards.
 */
import { quoteIdent } from '../collector/pipeline/influx-query.ts';
import type { RollupFieldOf, RollupSpec } from '../collector/runtime/rollups.ts';
import type { MeasurementSpec } from '../collector/sdk/index.ts';
import { DEVICE_VARIABLES, Query, type DeviceVariable } from './influxql.ts';

type FieldOf<M> = M extends MeasurementSpec<string, infer F> ? F : never;

/**
 * The variables a rollup honours: it has no `device` tag, so the device variable does not narrow
 * it (panel descriptions say so, as for the fleet_status counts).
 */
export const GROUP_VARIABLES: readonly DeviceVariable[] = DEVICE_VARIABLES.filter((v) => v !== 'device');
/** Rollups are hourly: a smaller bucket would show hours as isolated points. */
export const ROLLUP_INTERVAL = '1h';
export const ROLLUP_NOTE =
  'From the hourly per-group rollup the runtime writes (one series per customer, site, kind and model); the device variable does not narrow it.';

type Declared<M, Suffix extends string> =
  RollupFieldOf<M> extends infer R ? (R extends `${infer F}${Suffix}` ? F : never) : never;

/** `sum("<f>_sum") / sum("<f>_count")`: the exact mean of a `mean` field over groups and hours. */
export function rollupMean<M extends MeasurementSpec<string, string>>(
  _hourly: RollupSpec<M>,
  field: Declared<M, '_count'>,
): string {
  const name: string = field;
  return `sum(${quoteIdent(`${name}_sum`)}) / sum(${quoteIdent(`${name}_count`)})`;
}

/**
 * A fleet trend over a rollup: one column per `[expression, alias]` (use `rollupMean` or `sum(...)`
 * of rollup fields), per `$__interval` of at least `ROLLUP_INTERVAL`, narrowed by the group variables.
 */
export function rollupTrend<M extends MeasurementSpec<string, string>>(
  hourly: RollupSpec<M>,
  columns: [expr: string, alias: string][],
  fill: 'null' | 'none' | number = 'null',
): Query<RollupFieldOf<M>> {
  const q = Query.from(hourly);
  for (const [expr, alias] of columns) q.expression(expr, alias);
  return q.filterBy(GROUP_VARIABLES).byTime('$__interval', fill);
}

/** `sum("field")` of a rollup field, name checked against its declaration. */
export function rollupSum<M extends MeasurementSpec<string, string>>(
  _hourly: RollupSpec<M>,
  field: RollupFieldOf<M>,
): string {
  return `sum(${quoteIdent(field)})`;
}

/**
 * Raw-point form: increase of a per-device counter summed over the devices, per interval (a
 * reset drops that device's bucket). Costs devices × buckets: dashboards read the rollup's
 * `<field>_increase` instead; the benchmark times this as the reference.
 */
export function counterIncrease<M extends MeasurementSpec<string, string>>(
  m: M,
  field: FieldOf<M>,
  alias: string,
  filterBy: readonly DeviceVariable[] = DEVICE_VARIABLES,
  by: string[] = [],
): Query {
  const inner = Query.from(m)
    .increase(field, alias)
    .filterBy(filterBy)
    .byTime('$__interval')
    .byTags('device', ...by);
  return Query.fromSubquery(inner)
    .select('sum', alias, alias)
    .byTime('$__interval', 'none')
    .byTags(...by);
}

/** Each device's latest values of `fields` (one row per device) for tables and Grafana-side grouping. */
export function latestPerDevice<M extends MeasurementSpec<string, string>>(
  m: M,
  fields: FieldOf<M>[],
  filterBy: readonly DeviceVariable[] = DEVICE_VARIABLES,
  keep: string[] = ['device'],
): Query<FieldOf<M>> {
  const q = Query.from(m).filterBy(filterBy);
  for (const f of fields) q.select('last', f);
  return q.byTags(...new Set(['device', ...keep]));
}

/** Grafana transformation: count rows per value of `column` (InfluxQL cannot GROUP BY a field). */
export function countBy(column: string, counted = 'device') {
  return {
    id: 'groupBy',
    options: {
      fields: {
        [column]: { operation: 'groupby', aggregations: [] },
        [counted]: { operation: 'aggregate', aggregations: ['count'] },
      },
    },
  };
}
