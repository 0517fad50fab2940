/**
 * Uptime from the hourly `device_availability` rollup: online seconds over observed seconds,
 * maintenance excluded (a planned window is not downtime) and the time the collector itself was
 * down counted for no state (nobody could observe the devices). Error time counts against
 * uptime: a terminal that answers but cannot take payments is not available to the customer.
 */
import { deviceAvailability, deviceAvailabilityHourly } from '../collector/runtime/measurements.ts';
import { quoteIdent } from '../collector/pipeline/influx-query.ts';
import { GROUP_VARIABLES, rollupSum } from './fleet-sums.ts';
import { Query, type DeviceVariable } from './influxql.ts';

type AvailabilityField = keyof (typeof deviceAvailability)['fields'];
const sum = (f: AvailabilityField) => `sum(${quoteIdent(f)})`;

export const UPTIME_EXPR = `100 * ${sum('online_s')} / (${sum('online_s')} + ${sum('error_s')} + ${sum('offline_s')})`;

const rolled = (f: 'online_s_sum' | 'error_s_sum' | 'offline_s_sum') => rollupSum(deviceAvailabilityHourly, f);
export const FLEET_UPTIME_EXPR = `100 * ${rolled('online_s_sum')} / (${rolled('online_s_sum')} + ${rolled('error_s_sum')} + ${rolled('offline_s_sum')})`;

/**
 * Uptime % over the range, per `by` group tags (customer, site, kind, model), from the
 * downsampler's `device_availability_hourly` (one series per group, not per device): the same
 * sums as `uptime`, so the same figure. Has no device tag: the device variable does not narrow it.
 */
export function fleetUptime(
  filterBy: readonly DeviceVariable[],
  by: readonly ('customer' | 'site' | 'kind' | 'model')[] = [],
): Query {
  return Query.from(deviceAvailabilityHourly)
    .expression(FLEET_UPTIME_EXPR, 'uptime_pct')
    .filterBy(filterBy.filter((v) => GROUP_VARIABLES.includes(v)))
    .byTags(...by);
}

/** Uptime % over the dashboard range, per `by` tags, from each device's hourly points (reports per device). */
export function uptime(filterBy: readonly DeviceVariable[], by: readonly string[] = []): Query {
  return Query.from(deviceAvailability)
    .expression(UPTIME_EXPR, 'uptime_pct')
    .filterBy(filterBy)
    .byTags(...by);
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
