import { apiErrors } from './errors.ts';

/**
 * Opaque page cursors: base64url of JSON naming the sort they belong to, so a cursor from one
 * sort order is refused (400, field `cursor`) instead of silently skipping rows in another.
 */
export function encodeCursor(sort: string, key: unknown): string {
  return Buffer.from(JSON.stringify({ s: sort, k: key })).toString('base64url');
}

export function decodeCursor<K>(cursor: string, sort: string, isKey: (k: unknown) => k is K): K {
  let parsed: { s?: unknown; k?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    throw apiErrors.validation('cursor', 'is not a cursor this API issued');
  }
  if (parsed?.s !== sort) {
    throw apiErrors.validation(
      'cursor',
      `belongs to another sort order ('${String(parsed?.s)}'); start again without a cursor`,
    );
  }
  if (!isKey(parsed.k)) throw apiErrors.validation('cursor', 'is not a cursor this API issued');
  return parsed.k;
}

export const isString = (k: unknown): k is string => typeof k === 'string';
export const isNumber = (k: unknown): k is number => typeof k === 'number' && Number.isFinite(k);
