/** Fleet-wide sums of per-device counters, and per-device "latest" tables, shared by device-kind dashboards. */
import type { MeasurementSpec } from '../collector/sdk/index.ts';
import { DEVICE_VARIABLES, Query, type DeviceVariable } from './influxql.ts';

type FieldOf<M> = M extends MeasurementSpec<string, infer F> ? F : never;

/** Increase of a per-device counter summed over the devices, per interval (resets count from zero). */
export function counterIncrease<M extends MeasurementSpec<string, string>>(m: M, field: FieldOf<M>, alias: string, filterBy: readonly DeviceVariable[] = DEVICE_VARIABLES, by: string[] = []): Query {
  const inner = Query.from(m).increase(field, alias).filterBy(filterBy).byTime('$__interval').byTags('device', ...by);
  return Query.fromSubquery(inner).select('sum', alias, alias).byTime('$__interval', 'none').byTags(...by);
}

/** Each device's latest values of `fields` (one row per device) for tables and Grafana-side grouping. */
export function latestPerDevice<M extends MeasurementSpec<string, string>>(m: M, fields: FieldOf<M>[], filterBy: readonly DeviceVariable[] = DEVICE_VARIABLES, keep: string[] = ['device']): Query<FieldOf<M>> {
  const q = Query.from(m).filterBy(filterBy);
  for (const f of fields) q.select('last', f);
  return q.byTags(...new Set(['device', ...keep]));
}

/** Grafana transformation: count rows per value of `column` (InfluxQL cannot GROUP BY a field). */
export function countBy(column: string, counted = 'device') {
  return {
    id: 'groupBy',
    options: { fields: { [column]: { operation: 'groupby', aggregations: [] }, [counted]: { operation: 'aggregate', aggregations: ['count'] } } },
  };
}
