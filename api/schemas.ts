import { Type, type Static, type TSchema } from 'typebox';

/** `T | null` as `type: [T, 'null']`: one type check for fast-json-stringify, not an anyOf. */
export function Nullable<T extends TSchema>(schema: T) {
  const raw = schema as unknown as { type?: string };
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [raw.type!, 'null'] });
}

/** A string from a fixed list, as a JSON Schema `enum` (one readable error, one OpenAPI enum). */
export function StringEnum<const V extends readonly string[]>(values: V, options: { description?: string; default?: V[number] } = {}) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable error code, e.g. FP_VALIDATION (see docs/api.md)' }),
      message: Type.String(),
      field: Type.Optional(Type.String({ description: 'The input the error is about: `kind`, `labels.zone`, `[3].id`' })),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { $id: 'ErrorBody', description: 'Every error has this shape' },
);

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });
export const NullableTimestamp = Nullable(Timestamp);

export const Limit = (max = 500, fallback = 50) =>
  Type.Integer({ minimum: 1, maximum: max, default: fallback, description: `Page size, 1–${max} (default ${fallback})` });

export const Cursor = Type.String({ maxLength: 512, description: 'next_cursor of the previous page (opaque)' });

export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    next_cursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page' })),
  });
}

/** Ids of customers and sites: readable slugs, also InfluxDB tag values. */
export const Slug = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'lowercase letters, digits, - and _; up to 64' });

/** Device ids: serial numbers and OCPP identities. */
export const DeviceId = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:@+|=*-]{0,63}$',
  description: 'Serial number or OCPP identity: letters, digits and ._:@+|=*-, up to 64',
});

/** `:id` in a path: any id-like text, so that an unknown one is a 404, not a 400. */
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

export function ms(value: number | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}
