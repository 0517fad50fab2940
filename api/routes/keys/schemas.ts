import { Type } from 'typebox';
import { ROLES, type ApiKeyInfo } from '../../../collector/inventory/index.ts';
import { ms, Nullable, NullableTimestamp, StringEnum, Timestamp } from '../../schemas.ts';

export const KeyJson = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: StringEnum(ROLES),
  active: Type.Boolean(),
  created_at: Timestamp,
  created_by: Nullable(Type.String()),
  last_used_at: NullableTimestamp,
  revoked_at: NullableTimestamp,
});

export function keyJson(k: ApiKeyInfo) {
  return {
    ...k,
    active: k.revoked_at === null,
    created_at: ms(k.created_at)!,
    last_used_at: ms(k.last_used_at),
    revoked_at: ms(k.revoked_at),
  };
}

export const KeyList = Type.Object({ items: Type.Array(KeyJson) });

export const KeyCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'Who or what uses it' }),
    role: StringEnum(ROLES),
  },
  { additionalProperties: false },
);

export const KeyCreated = Type.Object({ ...KeyJson.properties, key: Type.String({ description: 'Shown this once' }) });
