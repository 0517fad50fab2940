import { Type, type Static } from 'typebox';
import {
  DEVICE_SORT_FIELDS,
  DEVICE_STATES,
  LIFECYCLES,
  type Device,
  type DeviceReport,
} from '../../../collector/inventory/index.ts';
import {
  Cursor,
  DeviceId,
  Limit,
  ms,
  Nullable,
  NullableTimestamp,
  PageOf,
  Slug,
  StringEnum,
  Timestamp,
} from '../../schemas.ts';

export const LABEL_KEY = '^[A-Za-z0-9_.-]{1,63}$';

const Labels = Type.Unsafe<Record<string, string>>({
  type: 'object',
  propertyNames: { pattern: LABEL_KEY },
  additionalProperties: { type: 'string', maxLength: 256 },
  maxProperties: 32,
  description: 'Free-form key/value pairs; keys: letters, digits, _ . - (up to 63); up to 32 labels',
});
const Text64 = Type.String({ minLength: 1, maxLength: 64 });
const InstalledOn = Type.String({ format: 'date', description: 'YYYY-MM-DD' });

export const Reading = Type.Object({
  measurement: Type.String(),
  tags: Type.Record(Type.String(), Type.String(), {
    description: 'Series tags other than device, kind, model, customer, site',
  }),
  time: Timestamp,
  fields: Type.Record(Type.String(), Type.Unknown()),
});

export const DeviceJson = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  model: Nullable(Type.String()),
  customer: Nullable(Type.String()),
  site: Nullable(Type.String()),
  gateway: Nullable(Type.String()),
  firmware: Nullable(Type.String()),
  installed_on: Nullable(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
  lifecycle: StringEnum(LIFECYCLES),
  state: StringEnum(DEVICE_STATES, {
    description: 'Live state from the liveness tracker; unknown until first reported',
  }),
  first_seen: NullableTimestamp,
  last_seen: NullableTimestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
});

const Reported = Nullable(
  Type.Object(
    { at: Timestamp, values: Type.Record(Type.String(), Type.String()) },
    {
      description:
        'What the device last said about itself when it connected (OCPP BootNotification: vendor, model, serial, firmware), for whoever approves it; null when it said nothing',
    },
  ),
);

export const DeviceDetail = Type.Object({
  ...DeviceJson.properties,
  readings: Nullable(
    Type.Array(Reading, { description: 'Latest point of each series of the device; null without InfluxDB' }),
  ),
  readings_error: Type.Optional(Type.String({ description: 'Why readings is null although InfluxDB is configured' })),
  reported: Reported,
});

export const DevicePage = PageOf(
  Type.Object(
    { ...DeviceJson.properties, reported: Type.Optional(Reported) },
    { description: 'reported: with include=reported' },
  ),
);

/** A device's `reported` in its JSON form. */
export function reportedJson(r: DeviceReport | undefined): Static<typeof Reported> {
  return r ? { at: ms(r.at)!, values: r.reported } : null;
}

/** Columns a CSV import/export knows besides `label.<key>`; the read-only ones are ignored on import. */
export const WRITABLE_COLUMNS = [
  'id',
  'kind',
  'model',
  'customer',
  'site',
  'gateway',
  'firmware',
  'installed_on',
  'lifecycle',
] as const;
export const READ_ONLY_COLUMNS = ['state', 'first_seen', 'last_seen', 'created_at', 'updated_at'] as const;

/** Schemas that depend on the installed plugins' kinds. */
export function deviceSchemas(kinds: readonly string[]) {
  const Kind = StringEnum(kinds, { description: 'A kind an installed plugin serves' });
  const writable = {
    model: Type.Optional(Nullable(Text64)),
    customer: Type.Optional(Nullable(Slug)),
    site: Type.Optional(Nullable(Slug)),
    gateway: Type.Optional(Nullable(DeviceId)),
    firmware: Type.Optional(Nullable(Text64)),
    installed_on: Type.Optional(Nullable(InstalledOn)),
    labels: Type.Optional(Labels),
    lifecycle: Type.Optional(StringEnum(LIFECYCLES)),
  };
  const Create = Type.Object({ id: DeviceId, kind: Kind, ...writable }, { additionalProperties: false });
  const Patch = Type.Object(writable, { additionalProperties: false, minProperties: 1 });
  /** An import row: a create body, plus an export's read-only fields, which are ignored. */
  const ImportRow = Type.Object(
    {
      id: DeviceId,
      kind: Kind,
      ...writable,
      ...Object.fromEntries(READ_ONLY_COLUMNS.map((c) => [c, Type.Optional(Type.Unknown({ description: 'ignored' }))])),
    },
    { additionalProperties: false },
  );
  const filters = {
    kind: Type.Optional(Kind),
    model: Type.Optional(Text64),
    customer: Type.Optional(Text64),
    site: Type.Optional(Text64),
    gateway: Type.Optional(Text64),
    state: Type.Optional(StringEnum(DEVICE_STATES)),
    firmware: Type.Optional(Text64),
    lifecycle: Type.Optional(StringEnum(LIFECYCLES)),
    label: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,63}:.*$', maxLength: 330 }), {
        maxItems: 10,
        description: '`key:value`; repeat for several (all must match)',
      }),
    ),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'Case-insensitive substring of the device id, site name or customer name',
      }),
    ),
  };
  const sorts = [...DEVICE_SORT_FIELDS, ...DEVICE_SORT_FIELDS.map((f) => `-${f}` as const)];
  const ListQuery = Type.Object(
    {
      ...filters,
      sort: Type.Optional(StringEnum(sorts, { description: 'A field; prefix - for descending. Default id' })),
      include: Type.Optional(
        StringEnum(['reported'] as const, {
          description: "reported: each device's `reported` (what it said when it connected), read for the page at once",
        }),
      ),
      cursor: Type.Optional(Cursor),
      limit: Limit(500, 50),
    },
    { additionalProperties: false },
  );
  const ExportQuery = Type.Object(
    { ...filters, format: Type.Optional(StringEnum(['json', 'csv'] as const, { description: 'Default json' })) },
    { additionalProperties: false },
  );
  return { Kind, Create, Patch, ImportRow, ListQuery, ExportQuery };
}

type DeviceJsonValue = Omit<Device, 'first_seen' | 'last_seen' | 'created_at' | 'updated_at'> & {
  first_seen: string | null;
  last_seen: string | null;
  created_at: string;
  updated_at: string;
};

/**
 * The inventory hands out the same frozen Device object until the device changes, so its JSON
 * form is made once per version of the device, not once per list request.
 */
const jsonOf = new WeakMap<Device, DeviceJsonValue>();

export function deviceJson(d: Device): DeviceJsonValue {
  let json = jsonOf.get(d);
  if (!json) {
    json = {
      ...d,
      first_seen: ms(d.first_seen),
      last_seen: ms(d.last_seen),
      created_at: ms(d.created_at)!,
      updated_at: ms(d.updated_at)!,
    };
    jsonOf.set(d, json);
  }
  return json;
}

/** `['zone:north', 'floor:1']` → `{ zone: 'north', floor: '1' }` (the value may contain ':'). */
export function parseLabelFilters(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf(':');
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}
