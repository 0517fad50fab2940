/**
 * What a plugin emits, declared once: the runtime checks emitted points against it, and docs,
 * dashboards and alert rules read names from it (so a renamed field breaks the build, not a panel).
 */
export type FieldType = 'float' | 'int' | 'uint' | 'string' | 'bool';

export interface FieldSpec {
  type: FieldType;
  /** Unit of the value as stored, e.g. `W`, `Wh`, `%`, `s`, `bytes`, `°C`. */
  unit?: string;
  description: string;
}

/**
 * What the runtime's downsampler keeps of a field per hour and (customer, site, kind, model)
 * group, in the measurement `<name>_hourly` (see plugins/README.md, "Declaring rollups"):
 * - `mean`: a gauge; writes `<field>_sum` and `<field>_count`, so a fleet mean over any groups and
 *   hours is `sum(<field>_sum) / sum(<field>_count)`, exact;
 * - `sum`: writes `<field>_sum`, the values added up (seconds, energy per event);
 * - `increase`: a per-device counter; writes `<field>_increase`, each device's increase in the
 *   hour (from its last value of the hour before; a reset counts from zero), summed;
 * - `count_positive`: writes `<field>_positive`, how many reports had a value above zero (reports
 *   of an error code, for example).
 */
export type RollupKind = 'mean' | 'sum' | 'increase' | 'count_positive';

/** Per field, its rollup; numeric fields only. */
export type RollupFields<Field extends string = string> = { readonly [F in Field]?: RollupKind };

export interface MeasurementSpec<
  Tag extends string = string,
  Field extends string = string,
  Rollup extends RollupFields<Field> = RollupFields<Field>,
> {
  name: string;
  description: string;
  /**
   * Tags the plugin sets itself, with their meaning. The runtime adds `device`, `kind`, `model`,
   * `customer`, `site` and `gateway` to every device point; they need not be listed here.
   */
  tags: Record<Tag, string>;
  fields: Record<Field, FieldSpec>;
  /**
   * Optional: an hourly per-group rollup the runtime derives from the stored points. `perCustomer`
   * also writes `<name>_customer_hourly`, the same sums per (customer, kind) and hour: a few
   * hundred series instead of thousands, for fleet panels over weeks (see plugins/README.md).
   */
  rollup?: { fields: Rollup; perCustomer?: boolean };
}

/** Identity function that keeps the literal names of tags and fields for dashboards and alerts. */
export function defineMeasurement<
  const Tag extends string,
  const Field extends string,
  const Rollup extends RollupFields<Field> = Record<never, never>,
>(spec: MeasurementSpec<Tag, Field, Rollup>): MeasurementSpec<Tag, Field, Rollup> {
  return spec;
}

/** Tags the runtime puts on every device point, taken from the inventory. */
export const DEVICE_TAGS = ['device', 'kind', 'model', 'customer', 'site', 'gateway'] as const;
export type DeviceTag = (typeof DEVICE_TAGS)[number];
