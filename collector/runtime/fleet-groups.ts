/**
 * The per-group rows the liveness tracker writes every status interval (`fleet_status`,
 * `fleet_firmware`). Pure functions, shared with the Grafana fixture and benchmark so that they
 * write what the runtime would.
 */
import { int, type DeviceRecord, type DeviceState, type Fields, type Tags } from '../sdk/index.ts';

/** The inventory labels `fleet_status` groups by. */
export const FLEET_GROUP_TAGS = ['customer', 'site', 'kind', 'model'] as const;
type GroupLabels = Partial<Pick<DeviceRecord, (typeof FLEET_GROUP_TAGS)[number] | 'firmware'>>;

/**
 * Device counts by state per (customer, site, kind, model): the rows of one `fleet_status`
 * interval. A label the device lacks (or a device the inventory does not know) is left out of the
 * tags, so such devices are still counted, in a group without that tag. Shared with the Grafana
 * fixture and benchmark so they write what the runtime would.
 */
export function fleetStatusGroups(
  devices: Iterable<{ device: GroupLabels | undefined; state: DeviceState }>,
): Array<{ tags: Tags; fields: Fields }> {
  const groups = new Map<string, { tags: Tags; counts: Record<DeviceState, number> }>();
  for (const { device, state } of devices) {
    const key = FLEET_GROUP_TAGS.map((t) => device?.[t] ?? '').join('\u0000');
    let g = groups.get(key);
    if (!g) {
      const tags: Tags = {};
      for (const t of FLEET_GROUP_TAGS) if (device?.[t]) tags[t] = device[t];
      g = { tags, counts: { online: 0, offline: 0, error: 0, maintenance: 0 } };
      groups.set(key, g);
    }
    g.counts[state]++;
  }
  return [...groups.values()].map(({ tags, counts: c }) => ({
    tags,
    fields: {
      total: int(c.online + c.offline + c.error + c.maintenance),
      online: int(c.online),
      offline: int(c.offline),
      error: int(c.error),
      maintenance: int(c.maintenance),
    },
  }));
}

/** The labels `fleet_firmware` groups by: `fleet_status`'s and the firmware the inventory records. */
export const FIRMWARE_GROUP_TAGS = [...FLEET_GROUP_TAGS, 'firmware'] as const;

/**
 * Devices per (customer, site, kind, model, firmware): the rows of one `fleet_firmware` interval.
 * As for `fleet_status`, a label the device lacks is left out of the tags (the device is still
 * counted).
 */
export function fleetFirmwareGroups(devices: Iterable<GroupLabels | undefined>): Array<{ tags: Tags; fields: Fields }> {
  const groups = new Map<string, { tags: Tags; devices: number }>();
  for (const device of devices) {
    const key = FIRMWARE_GROUP_TAGS.map((t) => device?.[t] ?? '').join('\u0000');
    let g = groups.get(key);
    if (!g) {
      const tags: Tags = {};
      for (const t of FIRMWARE_GROUP_TAGS) if (device?.[t]) tags[t] = device[t];
      g = { tags, devices: 0 };
      groups.set(key, g);
    }
    g.devices++;
  }
  return [...groups.values()].map(({ tags, devices }) => ({ tags, fields: { devices: int(devices) } }));
}
