/**
 * The data model of one InfluxDB point, as plugins and the pipeline see it.
 *
 * JavaScript numbers do not say whether they are integers or floats, and InfluxDB refuses a field
 * whose type changes, so integer fields are marked explicitly with `Int`/`Uint`. Plugins rarely do
 * this by hand: `ctx.emit` marks fields by the types their measurement declares.
 */
export class Int {
  constructor(readonly value: number | bigint) {}
}

export class Uint {
  constructor(readonly value: number | bigint) {}
}

export const int = (value: number | bigint): Int => new Int(value);
export const uint = (value: number | bigint): Uint => new Uint(value);

export type FieldValue = number | string | boolean | Int | Uint;

/** Fields whose value is `undefined` or `null` are left out of the point. */
export type Fields = Record<string, FieldValue | null | undefined>;

/** Tags whose value is `undefined` or empty are left out of the point. */
export type Tags = Record<string, string | undefined>;

export interface Point {
  measurement: string;
  tags: Tags;
  fields: Fields;
  /**
   * An integer in the unit of the write precision. The pipeline writes with millisecond
   * precision, so points emitted by plugins carry epoch milliseconds.
   */
  time?: number | bigint;
}
