import { Type, type Static, type TSchema } from 'typebox';
import { DEVICE_ID_PATTERN } from '../collector/sdk/index.ts';

/** `T | null` as `type: [T, 'null']`: one type check for fast-json-stringify, not an anyOf. */
export function Nullable<T extends TSchema>(schema: T) {
  const raw = schema as unknown as { type?: string };
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [raw.type!, 'null'] });
}

/** A string from a fixed list, as a JSON Schema `enum` (one readable error, one OpenAPI enum). */
export function StringEnum<const V extends readonly string[]>(
  values: V,
  options: { description?: string; default?: V[number] } = {},
) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable error code, e.g. FP_VALIDATION (see docs/api.md)' }),
      message: Type.String(),
      field: Type.Optional(
        Type.String({ description: 'The input the error is about: `kind`, `labels.zone`, `[3].id`' }),
      ),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { $id: 'ErrorBody', description: 'Every error has this shape' },
);

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });
export const NullableTimestamp = Nullable(Timestamp);

export const Limit = (max = 500, fallback = 50) =>
  Type.Integer({
    minimum: 1,
    maximum: max,
    default: fallback,
    description: `Page size, 1–${max} (default ${fallback})`,
  });

export const Cursor = Type.String({ maxLength: 512, description: 'next_cursor of the previous page (opaque)' });

export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    next_cursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last page' })),
  });
}

/** Ids of customers and sites: readable slugs, also InfluxDB tag values. */
export const Slug = Type.String({
  pattern: '^[a-z0-9][a-z0-9_-]{0,63}$',
  description: 'lowercase letters, digits, - and _; up to 64',
});

/** Device ids: serial numbers and OCPP identities. */
export const DeviceId = Type.String({
  pattern: DEVICE_ID_PATTERN,
  description: 'Serial number or OCPP identity: letters, digits and ._:@+|=*-, up to 64',
});

/** `:id` in a path: any id-like text, so that an unknown one is a 404, not a 400. */
export const IdParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);

/**
 * Epoch ms → ISO 8601 UTC, as `Date#toISOString` writes it. A device list writes four per
 * device; building a Date for each was a tenth of a list request's time.
 */
export function ms(value: number | null): string | null {
  if (value === null) return null;
  // Years 1970–9999 only; anything else the slow way.
  if (!(value >= 0 && value < 253402300800000) || !Number.isInteger(value)) return new Date(value).toISOString();
  const days = Math.floor(value / 86_400_000);
  let rest = value - days * 86_400_000;
  const hour = Math.floor(rest / 3_600_000);
  rest -= hour * 3_600_000;
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  const second = Math.floor(rest / 1000);
  const milli = rest - second * 1000;
  // civil_from_days (H. Hinnant), for days since 1970-01-01
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}
