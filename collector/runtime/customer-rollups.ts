/**
 * The coarse rollup `<name>_customer_hourly` (declared with `rollup.perCustomer`): the hourly
 * group points of `<name>_hourly` summed per (customer, kind) and hour. InfluxDB 1.x pays per
 * series read: at 20,000 devices the per-group rollup has ≈ 2,800 series, and fleet uptime per
 * hour over 30 days read from it took 52 s on a loaded machine; this one has one series per
 * customer and kind (bench/grafana-queries.ts). Every rollup field (sums, counts, increases,
 * positive counts) adds up across groups, so its values are exactly the fine rollup's summed. It is
 * derived from the same fold in the same pass, never read back: the two cannot disagree. Pure.
 */
import {
  Int,
  int,
  type Fields,
  type FieldSpec,
  type FieldValue,
  type MeasurementSpec,
  type Point,
} from '../sdk/index.ts';
import { rollupMeasurement, type RollupFieldOf } from './rollups.ts';

export const CUSTOMER_ROLLUP_SUFFIX = '_customer_hourly';
/** The tags `<name>_customer_hourly` groups by: site and model are summed away. */
export const CUSTOMER_ROLLUP_TAGS = ['customer', 'kind'] as const;
type CustomerTag = (typeof CUSTOMER_ROLLUP_TAGS)[number];

export type CustomerRollupSpec<M extends MeasurementSpec<string, string>> = MeasurementSpec<
  CustomerTag,
  RollupFieldOf<M>
> & { source: M };

/** The declaration of `<name>_customer_hourly`: the fields of `<name>_hourly`, tags customer and kind. */
export function customerRollupMeasurement<M extends MeasurementSpec<string, string>>(m: M): CustomerRollupSpec<M> {
  if (!m.rollup?.perCustomer) throw new Error(`${m.name}: no per-customer rollup declared`);
  const hourly = rollupMeasurement(m);
  return {
    name: `${m.name}${CUSTOMER_ROLLUP_SUFFIX}`,
    description: `${hourly.name} summed per (customer, kind) and hour by the runtime's downsampler, in the same pass: the same fields, one series per customer and kind. For fleet-wide panels over long ranges. No \`site\`, \`model\` or \`device\` tag.`,
    tags: { customer: 'Customer of the devices', kind: 'Device kind' },
    fields: hourly.fields,
    source: m,
  };
}

const numeric = (v: FieldValue | null | undefined): number | undefined =>
  v instanceof Int ? Number(v.value) : typeof v === 'number' ? v : undefined;

/** `<name>_hourly` points (any hours) summed into one `<name>_customer_hourly` point per (customer, kind, hour). */
export function sumPerCustomer(spec: CustomerRollupSpec<MeasurementSpec>, points: readonly Point[]): Point[] {
  const groups = new Map<string, Point & { fields: Record<string, number> }>();
  for (const p of points) {
    const key = `${p.time}\u0000${CUSTOMER_ROLLUP_TAGS.map((t) => p.tags[t] ?? '').join('\u0000')}`;
    let g = groups.get(key);
    if (!g) {
      const tags: Point['tags'] = {};
      for (const t of CUSTOMER_ROLLUP_TAGS) if (p.tags[t]) tags[t] = p.tags[t];
      g = { measurement: spec.name, tags, fields: {}, time: p.time };
      groups.set(key, g);
    }
    for (const [name, value] of Object.entries(p.fields)) {
      const v = numeric(value);
      if (v !== undefined) g.fields[name] = (g.fields[name] ?? 0) + v;
    }
  }
  const declared: Record<string, FieldSpec | undefined> = spec.fields;
  return [...groups.values()].map((g) => {
    const fields: Fields = {};
    for (const [name, v] of Object.entries(g.fields)) fields[name] = declared[name]?.type === 'float' ? v : int(v);
    return { ...g, fields };
  });
}
