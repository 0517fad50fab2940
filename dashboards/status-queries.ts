/**
 * Queries over `device_status` shared by dashboards and alert rules. "Now" means each device's
 * last status point within a look-back that covers several status intervals (the runtime writes
 * every device every 60 s by default), so a device's current state is a value, never a gap.
 */
import { deviceStatus } from '../collector/runtime/measurements.ts';
import { DEVICE_LABELS, Query, type DeviceVariable, type TimeWindow } from './influxql.ts';

/** How far back "now" looks for each device's last status: 15 status intervals of 60 s. */
export const CURRENT_WINDOW = '15m';
export const DEVICE_STATES = ['online', 'offline', 'error', 'maintenance'] as const;
export type DeviceStateName = (typeof DEVICE_STATES)[number];
type StatusField = keyof (typeof deviceStatus)['fields'];

export interface LatestStatusOptions {
  window?: TimeWindow;
  /** Template variables to filter by (dashboards); none in alert rules. */
  filterBy?: readonly DeviceVariable[];
  /** Tags to keep per device; `device` is always first. Default: all device labels. */
  keep?: readonly string[];
  fields?: readonly StatusField[];
  /** Only devices of these kinds. */
  kinds?: readonly string[];
}

/** One row per device: its last status fields, keyed by the device's tags. */
export function latestStatus(opts: LatestStatusOptions = {}): Query<StatusField> {
  const q = Query.from(deviceStatus).within(opts.window ?? { kind: 'lookback', duration: CURRENT_WINDOW });
  for (const f of opts.fields ?? (['online', 'state', 'last_seen_s'] as const)) q.select('last', f);
  if (opts.kinds) q.whereTagIn('kind', opts.kinds);
  if (opts.filterBy) q.filterBy(opts.filterBy);
  const keep = opts.keep ?? DEVICE_LABELS;
  return q.byTags(...new Set(['device', ...keep]));
}
