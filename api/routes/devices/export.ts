import type { Device } from '../../../collector/inventory/index.ts';
import { csvLine } from '../../csv.ts';
import { READ_ONLY_COLUMNS, WRITABLE_COLUMNS, deviceJson } from './schemas.ts';

/**
 * Devices as CSV in the import's own format: the writable columns, one `label.<key>` column per
 * label key in the set, then the read-only columns (which an import ignores). So an export can
 * be edited and imported again (`?mode=upsert`).
 */
export function devicesCsv(devices: readonly Device[]): string {
  const labelKeys = [...new Set(devices.flatMap((d) => Object.keys(d.labels)))].sort();
  const header = [...WRITABLE_COLUMNS, ...labelKeys.map((k) => `label.${k}`), ...READ_ONLY_COLUMNS];
  let out = csvLine(header);
  for (const device of devices) {
    const json = deviceJson(device);
    out += csvLine([
      ...WRITABLE_COLUMNS.map((c) => json[c]),
      ...labelKeys.map((k) => device.labels[k]),
      ...READ_ONLY_COLUMNS.map((c) => json[c]),
    ]);
  }
  return out;
}
