import { randomBytes } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A random lowercase id of `length` characters (5 bits each), e.g. for keys and credentials. */
export function randomId(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += BASE32[bytes[i] & 31];
  return out;
}

/**
 * A readable id from a name ("Café Nord #12" → `cafe-nord-12`), made unique with `-2`, `-3`...
 * Ids become InfluxDB tags (`customer`, `site`), so they should mean something on a dashboard.
 */
export function uniqueSlug(name: string, taken: (id: string) => boolean, fallback: string): string {
  const base =
    name
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48)
      .replace(/-+$/, '') || fallback;
  if (!taken(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!taken(candidate)) return candidate;
  }
}

/** Builds `SET a = ?, b = ?` assignments from the defined keys of a patch. */
export function assignments<T extends object>(
  patch: T,
  columns: Partial<Record<keyof T, string>>,
): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const [key, column] of Object.entries(columns) as [keyof T, string][]) {
    if (patch[key] === undefined) continue;
    parts.push(`${column} = ?`);
    values.push(patch[key]);
  }
  return { sql: parts.join(', '), values };
}
