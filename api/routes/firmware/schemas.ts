import { Type, type Static } from 'typebox';
import type { Firmware } from '../../../collector/operations/firmware-catalogue.ts';
import { ms, Nullable, Timestamp } from '../../schemas.ts';

export const FirmwareCreate = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 64, description: 'Device model (inventory `model`)' }),
    version: Type.String({ minLength: 1, maxLength: 64, description: 'The version devices report once installed' }),
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'http(s) image location; loopback, link-local and file: URLs are refused',
    }),
    sha256: Type.String({ pattern: '^[0-9a-fA-F]{64}$' }),
    notes: Type.Optional(Type.String({ maxLength: 10_000, description: 'Release notes' })),
  },
  { additionalProperties: false },
);

export const FirmwareJson = Type.Object({
  id: Type.String(),
  model: Type.String(),
  version: Type.String(),
  url: Type.String(),
  sha256: Type.String(),
  notes: Nullable(Type.String()),
  created_at: Timestamp,
});

export const firmwareJson = (f: Firmware): Static<typeof FirmwareJson> => ({ ...f, created_at: ms(f.created_at)! });

export const FirmwareListQuery = Type.Object(
  { model: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);
export const FirmwareList = Type.Object({ items: Type.Array(FirmwareJson) });
