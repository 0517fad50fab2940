/**
 * Hourly per-group rollups declared on measurements (`rollup` in `defineMeasurement`): the
 * declaration of `<name>_hourly`, the InfluxQL that reads one hour of raw points, and the fold of
 * the answers into one point per (customer, site, kind, model) group. Pure: no I/O, no clock; the
 * downsampler (downsampler.ts) runs it. Fleet-wide trends then read ≈ groups × hours points
 * instead of devices × reports (see docs/grafana.md, "Query cost at fleet scale").
 */
import { quoteIdent } from '../pipeline/influx-query.ts';
import type { Series } from '../pipeline/influx-query.ts';
import { FLEET_GROUP_TAGS } from './fleet-groups.ts';
import {
  int,
  type Fields,
  type FieldSpec,
  type MeasurementSpec,
  type Point,
  type RollupKind,
  type Tags,
} from '../sdk/index.ts';

export const HOUR_MS = 3_600_000;
/**
 * How far before the first hour read a counter's baseline is looked for, hours: a device silent
 * for up to this long still gets its increase counted in the hour it is back.
 */
export const COUNTER_LOOKBACK_HOURS = 2;
export const ROLLUP_SUFFIX = '_hourly';
/** The tags a rollup groups by: the groups of `fleet_status`, so that counts and trends filter alike. */
export const ROLLUP_GROUP_TAGS = FLEET_GROUP_TAGS;
type GroupTag = (typeof ROLLUP_GROUP_TAGS)[number];

type Written<K extends string, R> = R extends 'mean'
  ? `${K}_sum` | `${K}_count`
  : R extends 'sum'
    ? `${K}_sum`
    : R extends 'increase'
      ? `${K}_increase`
      : R extends 'count_positive'
        ? `${K}_positive`
        : never;
/** The field names `<name>_hourly` has for a measurement's rollup declaration. */
export type RollupFieldOf<M> =
  M extends MeasurementSpec<string, string, infer R>
    ? { [K in keyof R & string]: Written<K, R[K]> }[keyof R & string]
    : never;

export type RollupSpec<M extends MeasurementSpec<string, string>> = MeasurementSpec<GroupTag, RollupFieldOf<M>> & {
  source: M;
};

const NUMERIC = new Set(['float', 'int', 'uint']);

/**
 * The declaration of `<name>_hourly` for a measurement with a `rollup`: what the downsampler
 * writes and dashboards read. Throws, naming measurement and field, on a rollup of an undeclared
 * or non-numeric field (a plugin bug, found when the process starts).
 */
export function rollupMeasurement<M extends MeasurementSpec<string, string>>(m: M): RollupSpec<M> {
  const declared = m.rollup?.fields;
  if (!declared || Object.keys(declared).length === 0) throw new Error(`${m.name}: no rollup declared`);
  const fields: Record<string, FieldSpec> = {};
  for (const [name, kind] of Object.entries(declared) as [string, RollupKind][]) {
    const src = m.fields[name];
    if (!src) throw new Error(`${m.name}: rollup of undeclared field "${name}"`);
    if (!NUMERIC.has(src.type))
      throw new Error(`${m.name}: rollup "${kind}" of ${src.type} field "${name}" (numeric fields only)`);
    // int stays int (seconds, counters), so a rolled-up field's type never changes in InfluxDB.
    const whole = src.type === 'float' ? 'float' : 'int';
    const unit = src.unit === undefined ? {} : { unit: src.unit };
    switch (kind) {
      case 'mean':
        fields[`${name}_sum`] = {
          type: whole,
          ...unit,
          description: `Sum of ${name} over the group's reports in the hour (mean = sum(${name}_sum) / sum(${name}_count))`,
        };
        fields[`${name}_count`] = { type: 'int', description: `Reports of ${name} in the hour` };
        break;
      case 'sum':
        fields[`${name}_sum`] = {
          type: whole,
          ...unit,
          description: `Sum of ${name} over the group's points in the hour`,
        };
        break;
      case 'increase':
        fields[`${name}_increase`] = {
          type: whole,
          ...unit,
          description: `Increase of the ${name} counter in the hour, summed over the group's devices (a reset counts from zero)`,
        };
        break;
      case 'count_positive':
        fields[`${name}_positive`] = { type: 'int', description: `Reports with ${name} > 0 in the hour` };
        break;
      default:
        throw new Error(`${m.name}: unknown rollup "${String(kind)}" for field "${name}"`);
    }
  }
  return {
    name: `${m.name}${ROLLUP_SUFFIX}`,
    description: `Hourly rollup of ${m.name} per (customer, site, kind, model) group, written by the runtime's downsampler, stamped at the start of the hour and rewritten while the hour may still change. No \`device\` tag.`,
    tags: { customer: 'Customer of the group', site: 'Site of the group', kind: 'Device kind', model: 'Device model' },
    fields: fields,
    source: m,
  };
}

/**
 * The statements that read the hours `[from, to)` (epoch ms, hour starts) for a rollup, each
 * hour a bucket of `GROUP BY time(1h)`. InfluxDB 1.x pays mostly per series and field read, not
 * per point, so many hours in one query cost about what one hour costs (bench/grafana-queries.ts).
 */
export interface HourQueries {
  /** sum/count of `mean` and `sum` fields per group and hour; undefined when none. */
  sums?: string;
  /** One per `count_positive` field: reports with a value > 0, per group and hour. */
  positives: { field: string; query: string }[];
  /** last of each `increase` field per device and hour, from `COUNTER_LOOKBACK_HOURS` before `from`. */
  counters?: string;
}

export function hourQueries(m: MeasurementSpec, from: number, to: number = from + HOUR_MS): HourQueries {
  const source = quoteIdent(m.name);
  const within = (start: number) => `time >= ${start}ms AND time < ${to}ms`;
  const groups = ROLLUP_GROUP_TAGS.map(quoteIdent).join(', ');
  const sums: string[] = [];
  const counters: string[] = [];
  const positives: HourQueries['positives'] = [];
  for (const [name, kind] of Object.entries(m.rollup?.fields ?? {}) as [string, RollupKind][]) {
    const f = quoteIdent(name);
    if (kind === 'mean')
      sums.push(`sum(${f}) AS ${quoteIdent(`${name}_sum`)}`, `count(${f}) AS ${quoteIdent(`${name}_count`)}`);
    else if (kind === 'sum') sums.push(`sum(${f}) AS ${quoteIdent(`${name}_sum`)}`);
    else if (kind === 'increase') counters.push(`last(${f}) AS ${quoteIdent(name)}`);
    else
      positives.push({
        field: name,
        query: `SELECT count(${f}) AS ${quoteIdent(`${name}_positive`)} FROM ${source} WHERE ${within(from)} AND ${f} > 0 GROUP BY time(1h), ${groups} fill(none)`,
      });
  }
  return {
    sums: sums.length
      ? `SELECT ${sums.join(', ')} FROM ${source} WHERE ${within(from)} GROUP BY time(1h), ${groups} fill(none)`
      : undefined,
    positives,
    // Each device's own series (GROUP BY device), so a counter is compared with itself only.
    counters: counters.length
      ? `SELECT ${counters.join(', ')} FROM ${source} WHERE ${within(from - COUNTER_LOOKBACK_HOURS * HOUR_MS)} GROUP BY time(1h), "device", ${groups} fill(none)`
      : undefined,
  };
}

/** Answers to `hourQueries`, folded into one `<name>_hourly` point per group and hour of `[from, to)`. */
export interface HourAnswers {
  sums?: Series[];
  positives: Series[][];
  counters?: Series[];
}

export function foldHours(spec: RollupSpec<MeasurementSpec>, from: number, to: number, answers: HourAnswers): Point[] {
  const groups = new Map<string, { tags: Tags; hour: number; fields: Record<string, number> }>();
  const group = (tags: Record<string, string>, hour: number) => {
    const key = `${hour}\u0000${ROLLUP_GROUP_TAGS.map((t) => tags[t] ?? '').join('\u0000')}`;
    let g = groups.get(key);
    if (!g) {
      const own: Tags = {};
      for (const t of ROLLUP_GROUP_TAGS) if (tags[t]) own[t] = tags[t];
      g = { tags: own, hour, fields: {} };
      groups.set(key, g);
    }
    return g;
  };
  const add = (g: { fields: Record<string, number> }, field: string, value: number) => {
    g.fields[field] = (g.fields[field] ?? 0) + value;
  };
  for (const s of [...(answers.sums ?? []), ...answers.positives.flat()]) {
    for (const row of s.values) {
      const hour = row[0] as number;
      if (hour < from || hour >= to) continue;
      const g = group(s.tags, hour);
      s.columns.forEach((c, i) => {
        if (c !== 'time' && typeof row[i] === 'number') add(g, c, row[i]);
      });
    }
  }
  const increases = Object.entries(spec.source.rollup?.fields ?? {})
    .filter(([, k]) => k === 'increase')
    .map(([f]) => f);
  for (const s of answers.counters ?? []) {
    const columns = increases.map((f) => s.columns.indexOf(f));
    // The baseline of each hour is the counter's last value in the latest earlier hour with one.
    const baseline: (number | undefined)[] = increases.map(() => undefined);
    for (const row of [...s.values].sort((a, b) => (a[0] as number) - (b[0] as number))) {
      const hour = row[0] as number;
      increases.forEach((f, i) => {
        const last = row[columns[i]];
        if (typeof last !== 'number') return;
        const before = baseline[i];
        baseline[i] = last;
        if (before === undefined || hour < from || hour >= to) return;
        add(group(s.tags, hour), `${f}_increase`, counterIncrease(before, last));
      });
    }
  }
  const positives = Object.keys(spec.fields).filter((f) => f.endsWith('_positive'));
  const out: Point[] = [];
  for (const g of groups.values()) {
    const fields: Fields = {};
    for (const [name, f] of Object.entries(spec.fields as Record<string, FieldSpec>)) {
      // A group that reported in the hour without a positive value has 0 of them, not "unknown".
      const v = g.fields[name] ?? (positives.includes(name) ? 0 : undefined);
      if (v !== undefined) fields[name] = f.type === 'float' ? v : int(Math.round(v));
    }
    if (Object.keys(fields).length > 0) out.push({ measurement: spec.name, tags: g.tags, fields, time: g.hour });
  }
  return out;
}

/**
 * A counter's increase from `baseline` (its last value in an earlier hour) to `last` (its last in
 * this hour): a value below the baseline means the counter was reset, and counts from zero (what
 * it counted before the reset in the same hour is not known and not counted). A device without a
 * value in the `COUNTER_LOOKBACK_HOURS` before an hour has no baseline, and no increase, for it.
 */
export function counterIncrease(baseline: number, last: number): number {
  return last >= baseline ? last - baseline : last;
}

/** Start of the hour holding `t` (epoch ms). */
export function hourOf(t: number): number {
  return t - (((t % HOUR_MS) + HOUR_MS) % HOUR_MS);
}
