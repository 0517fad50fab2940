/**
 * Uptime from the hourly `device_availability` rollup: online seconds over observed seconds,
 * maintenance excluded (a planned window is not downtime) and the time the collector itself was
 * down counted for no state (nobody could observe the devices). Error time counts against
 * uptime: a terminal that answers but cannot take payments is not available to the customer.
 */
import {
  deviceAvailability,
  deviceAvailabilityCustomerHourly,
  deviceAvailabilityHourly,
} from '../collector/runtime/measurements.ts';
import { quoteIdent } from '../collector/pipeline/influx-query.ts';
import type { RollupFieldOf } from '../collector/runtime/rollups.ts';
import { Query, type DeviceVariable } from './influxql.ts';

type AvailabilityField = keyof (typeof deviceAvailability)['fields'];
const sum = (f: AvailabilityField) => `sum(${quoteIdent(f)})`;

export const UPTIME_EXPR = `100 * ${sum('online_s')} / (${sum('online_s')} + ${sum('error_s')} + ${sum('offline_s')})`;

const rolled = (f: RollupFieldOf<typeof deviceAvailability>) => `sum(${quoteIdent(f)})`;
export const FLEET_UPTIME_EXPR = `100 * ${rolled('online_s_sum')} / (${rolled('online_s_sum')} + ${rolled('error_s_sum')} + ${rolled('offline_s_sum')})`;

/** The downsampler's availability rollups: per group (customer, site, kind, model), or per customer and kind. */
export type UptimeRollup = typeof deviceAvailabilityHourly | typeof deviceAvailabilityCustomerHourly;

/**
 * Uptime % over the range from a downsampler rollup (one series per group, not per device): the
 * same sums as `uptime`, so the same figure. By default the per-customer rollup, which only the
 * customer and kind variables narrow: at 20,000 devices it is ≈ 200 series against ≈ 2,800 for
 * the per-group one, whose 30-day "Uptime per hour" took over 60 s (bench/grafana-queries.ts). A
 * variable the rollup has no tag for (site, model, device) does not narrow it.
 */
export function fleetUptime(
  filterBy: readonly DeviceVariable[],
  source: UptimeRollup = deviceAvailabilityCustomerHourly,
): Query {
  const tags = Object.keys(source.tags);
  return Query.from(source)
    .expression(FLEET_UPTIME_EXPR, 'uptime_pct')
    .filterBy(filterBy.filter((v) => tags.includes(v)));
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
