import type { DeviceFilter, DeviceKey, DeviceListOptions, DeviceSortField } from './device-types.ts';

/** Sort field → column. Every one is indexed together with id, or cheap to sort at 20k rows. */
export const SORT_COLUMNS: Record<DeviceSortField, string> = {
  id: 'd.id',
  kind: 'd.kind',
  model: 'd.model',
  customer: 'd.customer_id',
  site: 'd.site_id',
  gateway: 'd.gateway',
  firmware: 'd.firmware',
  state: 'd.state',
  lifecycle: 'd.lifecycle',
  installed_on: 'd.installed_on',
  first_seen: 'd.first_seen',
  last_seen: 'd.last_seen',
  created_at: 'd.created_at',
  updated_at: 'd.updated_at',
};

/** The columns of a device, in the order `fromColumns` (devices.ts) reads them. */
export const DEVICE_COLUMNS = `d.id, d.kind, d.model, d.customer_id AS customer, d.site_id AS site, d.gateway,
  d.firmware, d.installed_on, d.labels, d.lifecycle, d.state, d.first_seen, d.last_seen, d.created_at, d.updated_at`;

export interface SqlPart {
  sql: string;
  values: unknown[];
}

/**
 * How `q` is matched in a list. `rowids`: the trigram index already listed every matching
 * device (few of them); they are fetched and ordered. `scan`: devices are walked in the page's
 * order and each is checked until the page is full: for common substrings, where listing every
 * match would cost more than a page needs. `Devices.list` picks one per request.
 */
export type TextMatch = { kind: 'rowids'; rowids: number[] } | { kind: 'scan' };

/** WHERE conditions for a filter, ANDed. */
export function filterConditions(filter: DeviceFilter, text?: TextMatch): SqlPart[] {
  const parts: SqlPart[] = [];
  const eq = (column: string, value: unknown) => {
    if (value !== undefined) parts.push({ sql: `${column} = ?`, values: [value] });
  };
  eq('d.kind', filter.kind);
  eq('d.model', filter.model);
  eq('d.customer_id', filter.customer);
  eq('d.site_id', filter.site);
  eq('d.gateway', filter.gateway);
  eq('d.state', filter.state);
  eq('d.firmware', filter.firmware);
  eq('d.lifecycle', filter.lifecycle);
  for (const [key, value] of Object.entries(filter.labels ?? {})) {
    parts.push({
      sql: 'd.seq IN (SELECT device_seq FROM device_labels WHERE key = ? AND value = ?)',
      values: [key, value],
    });
  }
  if (filter.q) {
    if (text?.kind === 'rowids')
      parts.push({ sql: 'd.seq IN (SELECT value FROM json_each(?))', values: [JSON.stringify(text.rowids)] });
    else if (text?.kind === 'scan' || !canIndex(filter.q)) parts.push(textScanned(filter.q));
    else parts.push(textIndexed(filter.q));
  }
  return parts;
}

/** Trigram FTS finds substrings of 3 characters or more; shorter ones can only be scanned. */
export function canIndex(q: string): boolean {
  return [...q].length >= 3;
}

/** The FTS5 query for a substring: one quoted phrase. */
export function ftsPhrase(q: string): string {
  return `"${q.replace(/"/g, '""')}"`;
}

function textIndexed(q: string): SqlPart {
  return { sql: 'd.seq IN (SELECT rowid FROM device_search WHERE device_search MATCH ?)', values: [ftsPhrase(q)] };
}

/** Checked per device, by rowid into the search table: no list of every match is built. */
function textScanned(q: string): SqlPart {
  const like = `%${q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
  return {
    sql: `EXISTS (SELECT 1 FROM device_search s WHERE s.rowid = d.seq
      AND (s.id LIKE ? ESCAPE '\\' OR s.site LIKE ? ESCAPE '\\' OR s.customer LIKE ? ESCAPE '\\'))`,
    values: [like, like, like],
  };
}

/**
 * Keyset condition: rows after `key` in ORDER BY col [DESC], id [DESC]. SQLite sorts NULL
 * first ascending and last descending, and `col > NULL` is never true, so NULLs get their own
 * branches.
 */
export function afterKey(column: string, desc: boolean, key: DeviceKey): SqlPart {
  if (column === 'd.id') return { sql: desc ? 'd.id < ?' : 'd.id > ?', values: [key.id] };
  const cmp = desc ? '<' : '>';
  if (key.value === null) {
    return desc
      ? { sql: `(${column} IS NULL AND d.id < ?)`, values: [key.id] }
      : { sql: `((${column} IS NULL AND d.id > ?) OR ${column} IS NOT NULL)`, values: [key.id] };
  }
  const main = `(${column} ${cmp} ? OR (${column} = ? AND d.id ${cmp} ?))`;
  return desc
    ? { sql: `(${main} OR ${column} IS NULL)`, values: [key.value, key.value, key.id] }
    : { sql: main, values: [key.value, key.value, key.id] };
}

/** The whole list statement; asks for one row more than `limit` to know whether more follow. */
export function listStatement(opts: DeviceListOptions, text?: TextMatch, columns = DEVICE_COLUMNS): SqlPart {
  const field = opts.sort?.field ?? 'id';
  const desc = opts.sort?.desc ?? false;
  const column = SORT_COLUMNS[field];
  const conditions = filterConditions(opts, text);
  if (opts.after) conditions.push(afterKey(column, desc, opts.after));
  const dir = desc ? 'DESC' : 'ASC';
  const order = column === 'd.id' ? `d.id ${dir}` : `${column} ${dir}, d.id ${dir}`;
  return {
    sql:
      `SELECT ${columns} FROM devices d` +
      (conditions.length ? ` WHERE ${conditions.map((c) => c.sql).join(' AND ')}` : '') +
      ` ORDER BY ${order} LIMIT ?`,
    values: [...conditions.flatMap((c) => c.values), opts.limit + 1],
  };
}

export function allStatement(filter: DeviceFilter, columns = DEVICE_COLUMNS): SqlPart {
  const conditions = filterConditions(filter);
  return {
    sql:
      `SELECT ${columns} FROM devices d` +
      (conditions.length ? ` WHERE ${conditions.map((c) => c.sql).join(' AND ')}` : '') +
      ' ORDER BY d.id',
    values: conditions.flatMap((c) => c.values),
  };
}
