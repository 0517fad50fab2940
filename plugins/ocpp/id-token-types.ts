/** The 2.0.1 IdTokenEnumType, one definition for every command that names an id token's type. */
import { Type } from '../../collector/sdk/index.ts';

export const ID_TOKEN_TYPES = ['Central', 'eMAID', 'ISO14443', 'ISO15693', 'KeyCode', 'Local', 'MacAddress'] as const;
export type IdTokenType = (typeof ID_TOKEN_TYPES)[number];

/** RFID cards: the type of an id token sent without one. */
export const DEFAULT_ID_TOKEN_TYPE: IdTokenType = 'ISO14443';

/** The `type` parameter of an id token (a union of literals, so a bad one is answered with the list). */
export const idTokenType = (options: { description?: string; default?: IdTokenType } = {}) =>
  Type.Union(
    ID_TOKEN_TYPES.map((t) => Type.Literal(t)),
    options,
  );
