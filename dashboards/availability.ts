/**
 * Uptime from the hourly `device_availability` rollup: online seconds over observed seconds,
 * maintenance excluded (a planned window is not downtime) and the time the collector itself was
 * down counted for no state (nobody could observe the devices). Error time counts against
 * uptime: a terminal that answers but cannot take payments is not available to the customer.
 */
import { deviceAvailability } from '../collector/runtime/measurements.ts';
import { quoteIdent } from '../collector/pipeline/influx-query.ts';
import { Query, type DeviceVariable } from './influxql.ts';

type AvailabilityField = keyof (typeof deviceAvailability)['fields'];
const sum = (f: AvailabilityField) => `sum(${quoteIdent(f)})`;

export const UPTIME_EXPR = `100 * ${sum('online_s')} / (${sum('online_s')} + ${sum('error_s')} + ${sum('offline_s')})`;

/** Uptime % over the dashboard range, per `by` tags. */
export function uptime(filterBy: readonly DeviceVariable[], by: readonly string[] = []): Query {
  return Query.from(deviceAvailability).expression(UPTIME_EXPR, 'uptime_pct').filterBy(filterBy).byTags(...by);
}

/** Device-hours with any downtime, and downtime in seconds, per `by` tags. */
export function downtime(filterBy: readonly DeviceVariable[], by: readonly string[] = []): Query {
  return Query.from(deviceAvailability)
    .select('count', 'offline_s', 'outage_hours')
    .select('sum', 'offline_s', 'offline_s')
    .whereField('offline_s', '>', 0)
    .filterBy(filterBy)
    .byTags(...by);
}
