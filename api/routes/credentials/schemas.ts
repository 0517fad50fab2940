import { Type } from 'typebox';
import type { CredentialInfo, IssuedCredential } from '../../../collector/inventory/index.ts';
import { ms, NullableTimestamp, StringEnum, Timestamp } from '../../schemas.ts';

export const CredentialJson = Type.Object({
  id: Type.String(),
  device: Type.String(),
  type: Type.String(),
  scheme: StringEnum(['sha256', 'sealed'] as const, {
    description: 'sha256: only a hash is kept; sealed: AES-256-GCM (HMAC keys)',
  }),
  active: Type.Boolean(),
  created_at: Timestamp,
  rotated_at: NullableTimestamp,
  revoked_at: NullableTimestamp,
});

export const CredentialList = Type.Object({ items: Type.Array(CredentialJson) });

export const IssuedJson = Type.Object({
  ...CredentialJson.properties,
  secret: Type.String({ description: 'Shown this once: it cannot be read back' }),
});

export const DeviceParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
export const CredentialParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 128 }), credential: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
export const IssueBody = Type.Object(
  {
    type: Type.String({
      pattern: '^[a-z][a-z0-9_]{1,63}$',
      description: "The plugin's credential type: ocpp_password, agent_token, pos_hmac, ...",
    }),
  },
  { additionalProperties: false },
);

export function credentialJson(c: CredentialInfo) {
  return {
    ...c,
    active: c.revoked_at === null,
    created_at: ms(c.created_at)!,
    rotated_at: ms(c.rotated_at),
    revoked_at: ms(c.revoked_at),
  };
}

export function issuedJson(c: IssuedCredential) {
  return { ...credentialJson(c), secret: c.secret };
}
