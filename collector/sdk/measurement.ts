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

export interface MeasurementSpec<
  Tag extends string = string,
  Field extends string = string,
> {
  name: string;
  description: string;
  /**
   * Tags the plugin sets itself, with their meaning. The runtime adds `device`, `kind`, `model`,
   * `customer`, `site` and `gateway` to every device point; they need not be listed here.
   */
  tags: Record<Tag, string>;
  fields: Record<Field, FieldSpec>;
}

/** Identity function that keeps the literal names of tags and fields for dashboards and alerts. */
export function defineMeasurement<const Tag extends string, const Field extends string>(
  spec: MeasurementSpec<Tag, Field>,
): MeasurementSpec<Tag, Field> {
  return spec;
}

/** Tags the runtime puts on every device point, taken from the inventory. */
export const DEVICE_TAGS = ['device', 'kind', 'model', 'customer', 'site', 'gateway'] as const;
export type DeviceTag = (typeof DEVICE_TAGS)[number];
