import { Type } from 'typebox';
import type { AuditEntry } from '../../../collector/inventory/index.ts';
import { Cursor, Limit, ms, Nullable, StringEnum, Timestamp } from '../../schemas.ts';

export const AuditJson = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  actor: Nullable(Type.String({ description: 'API key id; null without a valid key' })),
  actor_name: Nullable(Type.String()),
  role: Nullable(Type.String()),
  action: Type.String({ description: 'e.g. devices.create' }),
  target: Nullable(Type.String()),
  method: Nullable(Type.String()),
  path: Nullable(Type.String()),
  status: Nullable(Type.Integer()),
  result: StringEnum(['ok', 'denied', 'failed'] as const),
  source: Nullable(Type.String({ description: "The caller's address" })),
  details: Nullable(Type.Record(Type.String(), Type.Unknown())),
});

export const AuditQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive' })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'API key id or name' })),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    cursor: Type.Optional(Cursor),
    limit: Limit(500, 100),
  },
  { additionalProperties: false },
);

export function auditJson(e: AuditEntry) {
  return { ...e, at: ms(e.at)! };
}
