/**
 * "Now" lists of the devices that need attention, from `device_attention`: the liveness tracker
 * writes it only for devices offline or in error (each status interval and on each transition),
 * plus one closing point with the new state when a device leaves those states. Each device's last
 * point within ATTENTION_WINDOW, kept when its state is one the list shows, so a list reads the
 * series of the devices it lists (tens or hundreds), not one per device of the fleet (20,000).
 */
import { deviceAttention } from '../collector/runtime/measurements.ts';
import { DEVICE_LABELS, Query, type DeviceVariable } from './influxql.ts';

/**
 * How far back each device's last attention point is looked for: two status intervals of the
 * default 60 s (as FLEET_STATUS_WINDOW), so one late tick leaves no gap. A device that recovered
 * within it has a closing point (online or maintenance) that the state filter drops. Raise it with
 * `liveness.status_interval_s`.
 */
export const ATTENTION_WINDOW = '2m';

type AttentionField = keyof (typeof deviceAttention)['fields'];
export type AttentionState = 'offline' | 'error';

export interface AttentionListOptions {
  /** Template variables to filter by (every device label; device_attention carries them all). */
  filterBy: readonly DeviceVariable[];
  /** States the list shows. */
  states: readonly AttentionState[];
  /** Columns besides `state`, each `[field, alias]`, in order. */
  columns: ReadonlyArray<readonly [Exclude<AttentionField, 'state'>, string]>;
  /** Tags per row after `device`. Default: every device label. */
  keep?: readonly string[];
  /** Only devices of these kinds. */
  kinds?: readonly string[];
}

/** One row per device in one of `states` now: `state`, then the columns, keyed by the device's tags. */
export function attentionList(o: AttentionListOptions): Query {
  const tags = [...new Set(['device', ...(o.keep ?? DEVICE_LABELS)])];
  const inner = Query.from(deviceAttention).lookback(ATTENTION_WINDOW).select('last', 'state');
  for (const [field] of o.columns) inner.select('last', field);
  if (o.kinds) inner.whereTagIn('kind', o.kinds);
  inner.filterBy(o.filterBy).byTags(...tags);
  const outer = Query.fromSubquery(inner).field('state');
  for (const [field, alias] of o.columns) outer.field(field, alias);
  return outer
    .whereAnyOf('state', o.states)
    .byTags(...tags)
    .within({ kind: 'none' });
}
