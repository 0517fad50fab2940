import { Type } from 'typebox';
import { StringEnum } from '../../schemas.ts';

export const UptimeQuery = Type.Object(
  {
    month: Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM' }),
    customer: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    site: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    timezone: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Zone the month is cut in; default UTC' }),
    ),
    format: Type.Optional(StringEnum(['json', 'csv', 'html'] as const, { description: 'Default json' })),
    worst: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 500, description: 'How many worst devices to list (default 10)' }),
    ),
  },
  { additionalProperties: false },
);
