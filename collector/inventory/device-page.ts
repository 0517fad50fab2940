import { compareUtf8 } from '../pipeline/utf8-order.ts';
import type { Page } from './customers.ts';
import type { Device, DeviceFilter, DeviceKey, DeviceListOptions, DeviceSortField } from './device-types.ts';
import { mergeIds } from './id-order.ts';

/**
 * One page of a device list, made in memory from a few candidate devices: the devices a text
 * search matched (`q`), taken from the device cache. It gives exactly the page `listStatement`
 * (device-query.ts) gives for the same candidates: the same filters, the same order as SQLite's
 * (NULL first ascending and last descending, text in BINARY order, ties by id) and the same
 * keyset cursor. For up to ~1,000 matches this costs tens of microseconds where SQLite spent
 * most of a millisecond looking up and sorting every match (bench/devices-api.ts).
 * device-page.test.ts checks it against the SQL statement on random fleets. A list by id is
 * merged from id-ordered lists instead (mergedPage), checked by device-search.test.ts.
 */

/** Sort fields held in INTEGER columns; the others are TEXT. */
const NUMERIC_FIELDS: ReadonlySet<DeviceSortField> = new Set(['first_seen', 'last_seen', 'created_at', 'updated_at']);

/**
 * Whether a cursor key compares in memory as it does in SQLite: a number for an INTEGER
 * column, text for a TEXT one, or null. Cursors are not signed, so an edited one may carry
 * another type, which SQLite would convert by column affinity; such a page is left to SQL.
 */
export function keyFitsField(field: DeviceSortField, key: DeviceKey | undefined): boolean {
  if (!key || field === 'id' || key.value === null) return true;
  return typeof key.value === (NUMERIC_FIELDS.has(field) ? 'number' : 'string');
}

export function pageOf(candidates: Iterable<Device>, opts: DeviceListOptions): Page<Device> {
  const field = opts.sort?.field ?? 'id';
  const sign = opts.sort?.desc ? -1 : 1;
  const order = (a: Device, b: Device) =>
    sign * (field === 'id' ? compareUtf8(a.id, b.id) : compareRows(a[field], a.id, b[field], b.id));
  const after = opts.after;
  const keep = opts.limit + 1;
  // The first `keep` devices in page order, kept sorted; most candidates lose to the last one.
  const best: Device[] = [];
  for (const device of candidates) {
    if (!passes(device, opts)) continue;
    if (
      after &&
      sign *
        (field === 'id'
          ? compareUtf8(device.id, after.id)
          : compareRows(device[field], device.id, after.value, after.id)) <=
        0
    )
      continue;
    if (best.length === keep && order(device, best[keep - 1]) >= 0) continue;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (order(best[mid], device) < 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, device);
    if (best.length > keep) best.pop();
  }
  return { items: best.slice(0, opts.limit), more: best.length > opts.limit };
}

/**
 * The same page for a list by id, from candidates given as id-ordered lists of ids (a site's
 * devices, a customer's, the ids that matched): merged until the page is full, so it costs about
 * what the page costs, not what the matches do. `deviceOf` has every listed id.
 */
export function mergedPage(
  lists: readonly (readonly string[])[],
  deviceOf: (id: string) => Device,
  opts: DeviceListOptions,
): Page<Device> {
  const items: Device[] = [];
  let more = false;
  for (const id of mergeIds(lists, opts.sort?.desc ?? false, opts.after?.id)) {
    const device = deviceOf(id);
    if (!passes(device, opts)) continue;
    if (items.length === opts.limit) {
      more = true;
      break;
    }
    items.push(device);
  }
  return { items, more };
}

/** The filter's conditions other than `q` (which chose the candidates), as filterConditions has them. */
function passes(d: Device, f: DeviceFilter): boolean {
  if (f.kind !== undefined && d.kind !== f.kind) return false;
  if (f.model !== undefined && d.model !== f.model) return false;
  if (f.customer !== undefined && d.customer !== f.customer) return false;
  if (f.site !== undefined && d.site !== f.site) return false;
  if (f.gateway !== undefined && d.gateway !== f.gateway) return false;
  if (f.state !== undefined && d.state !== f.state) return false;
  if (f.firmware !== undefined && d.firmware !== f.firmware) return false;
  if (f.lifecycle !== undefined && d.lifecycle !== f.lifecycle) return false;
  if (f.labels) {
    for (const [key, value] of Object.entries(f.labels)) {
      if (!Object.hasOwn(d.labels, key) || d.labels[key] !== value) return false;
    }
  }
  return true;
}

type Value = string | number | null;

/** (value, id) pairs in SQLite's ascending order: NULL, then numbers, then text; ties by id. */
function compareRows(a: Value, aId: string, b: Value, bId: string): number {
  return compareValues(a, b) || compareUtf8(aId, bId);
}

function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number') return typeof b === 'number' ? (a < b ? -1 : 1) : -1;
  if (typeof b === 'number') return 1;
  return compareUtf8(a, b);
}
