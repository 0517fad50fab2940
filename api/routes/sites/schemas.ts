import { Type } from 'typebox';
import type { Site } from '../../../collector/inventory/index.ts';
import { Cursor, Limit, ms, Nullable, PageOf, Slug, Timestamp } from '../../schemas.ts';

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Address = Nullable(Type.String({ minLength: 1, maxLength: 500 }));
const Timezone = Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Berlin' });
const Latitude = Nullable(Type.Number({ minimum: -90, maximum: 90 }));
const Longitude = Nullable(Type.Number({ minimum: -180, maximum: 180 }));

export const SiteJson = Type.Object({
  id: Type.String(),
  customer: Type.String(),
  name: Type.String(),
  address: Nullable(Type.String()),
  timezone: Type.String(),
  latitude: Nullable(Type.Number()),
  longitude: Nullable(Type.Number()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const SiteCreate = Type.Object(
  {
    id: Type.Optional(Slug),
    customer: Slug,
    name: Name,
    address: Type.Optional(Address),
    timezone: Type.Optional(Timezone),
    latitude: Type.Optional(Latitude),
    longitude: Type.Optional(Longitude),
  },
  { additionalProperties: false },
);

export const SitePatch = Type.Object(
  {
    name: Type.Optional(Name),
    address: Type.Optional(Address),
    timezone: Type.Optional(Timezone),
    latitude: Type.Optional(Latitude),
    longitude: Type.Optional(Longitude),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const SiteListQuery = Type.Object(
  {
    customer: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Substring of the site name' })),
    cursor: Type.Optional(Cursor),
    limit: Limit(),
  },
  { additionalProperties: false },
);

export const SitePage = PageOf(SiteJson);

export function siteJson(s: Site) {
  return { ...s, created_at: ms(s.created_at)!, updated_at: ms(s.updated_at)! };
}
