import { defineMeasurement } from '../sdk/index.ts';
import { customerRollupMeasurement } from './customer-rollups.ts';
import { rollupMeasurement } from './rollups.ts';

/** What the runtime writes for every device, whatever its plugin. */
export const deviceStatus = defineMeasurement({
  name: 'device_status',
  description:
    'Liveness of every watched device, written on every transition and every status interval, so that offline is a value and not a missing series.',
  tags: {},
  fields: {
    online: {
      type: 'int',
      description: '1 when the device reported within its allowed silence (online or error), else 0',
    },
    state: { type: 'string', description: 'online | offline | error | maintenance' },
    last_seen_s: {
      type: 'int',
      unit: 's',
      description: 'Seconds since the device last reported (absent if never seen)',
    },
    cause: {
      type: 'string',
      description:
        'Why it is offline: gateway_offline (the device it is reached through is unreachable), site_outage (most of its site went offline at once: see site_status), else self (also when not offline)',
    },
    dependents: { type: 'int', description: 'Devices whose gateway (in the inventory) this device is' },
    dependents_offline: {
      type: 'int',
      description: 'Of those, the devices offline because this one is unreachable (their cause is gateway_offline)',
    },
  },
});

export const deviceAvailability = defineMeasurement({
  name: 'device_availability',
  description:
    'Hourly rollup per device of the seconds spent in each state, stamped at the start of the hour; uptime reports sum these instead of scanning raw status points.',
  tags: {},
  fields: {
    online_s: { type: 'int', unit: 's', description: 'Seconds online in the hour' },
    error_s: { type: 'int', unit: 's', description: 'Seconds reachable but reporting an error' },
    offline_s: { type: 'int', unit: 's', description: 'Seconds offline' },
    maintenance_s: {
      type: 'int',
      unit: 's',
      description: 'Seconds inside a maintenance window (excluded from uptime)',
    },
  },
  // Fleet-wide uptime reads ≈ groups × hours points instead of devices × hours; reports per
  // device keep reading this measurement. The NOC's uptime over weeks reads the per-customer one.
  rollup: { fields: { online_s: 'sum', error_s: 'sum', offline_s: 'sum', maintenance_s: 'sum' }, perCustomer: true },
});

/**
 * `device_availability_hourly`: the seconds of `device_availability` summed per (customer, site,
 * kind, model) group and hour by the downsampler (fields `online_s_sum`, `error_s_sum`,
 * `offline_s_sum`, `maintenance_s_sum`).
 */
export const deviceAvailabilityHourly = rollupMeasurement(deviceAvailability);

/** `device_availability_customer_hourly`: the same sums per (customer, kind) and hour, in the same pass. */
export const deviceAvailabilityCustomerHourly = customerRollupMeasurement(deviceAvailability);

export const fleetStatus = defineMeasurement({
  name: 'fleet_status',
  description:
    'Device counts by state per (customer, site, kind, model) group, written by the liveness tracker every status interval, all groups with the same timestamp. Fleet-wide "now" panels read one series per group instead of one per device. No `device` tag; a group tag the inventory lacks is left out.',
  tags: {
    customer: 'Customer of the devices in the group (absent if the inventory has none)',
    site: 'Site of the devices in the group (absent if none)',
    kind: 'Device kind (absent for devices not in the inventory)',
    model: 'Device model (absent if none)',
  },
  fields: {
    total: { type: 'int', description: 'Devices watched in the group' },
    online: {
      type: 'int',
      description: 'Devices in state online (reachable and not erroring; error is its own count)',
    },
    offline: { type: 'int', description: 'Devices in state offline' },
    error: { type: 'int', description: 'Devices reachable but reporting an error' },
    maintenance: { type: 'int', description: 'Devices inside a maintenance window' },
  },
});

export const deviceAttention = defineMeasurement({
  name: 'device_attention',
  description:
    'The devices that need attention now (offline or error), written by the liveness tracker for those devices only: on every transition and every status interval, plus one last point with the new state (online or maintenance) when a device leaves attention. A "now" list takes each series\' last point within two status intervals and keeps state offline or error, so it reads the series of the devices it lists, not one per device of the fleet.',
  tags: {},
  fields: {
    state: {
      type: 'string',
      description:
        'offline | error while the device needs attention; online | maintenance on the one point written when it stops needing it',
    },
    last_seen_s: {
      type: 'int',
      unit: 's',
      description: 'Seconds since the device last reported (absent if never seen)',
    },
    since_s: {
      type: 'int',
      unit: 's',
      description:
        'Seconds the device has been in this state (since the transition, or since the runtime started watching it)',
    },
    reason: {
      type: 'string',
      description:
        'What the plugin said about the error (`seen(id, { state: "error", reason })`, e.g. an error code); empty when it said nothing or the device is not in error',
    },
  },
});

export const fleetFirmware = defineMeasurement({
  name: 'fleet_firmware',
  description:
    'Watched devices per (customer, site, kind, model, firmware) group, firmware as the inventory records it (what each device last said about itself), written by the liveness tracker every status interval with fleet_status\'s timestamp. "Firmware versions in the fleet" sums groups instead of reading every device\'s own report. No `device` tag; a tag the inventory lacks is left out.',
  tags: {
    customer: 'Customer of the devices in the group (absent if the inventory has none)',
    site: 'Site of the devices in the group (absent if none)',
    kind: 'Device kind (absent for devices not in the inventory)',
    model: 'Device model (absent if none)',
    firmware: 'Firmware version the inventory records (absent if unknown)',
  },
  fields: {
    devices: { type: 'int', description: 'Devices watched in the group, whatever their state' },
  },
});

export const siteStatus = defineMeasurement({
  name: 'site_status',
  description:
    "Per site, every status interval (fleet_status's timestamp): how much of it is offline, and whether that is one outage — at least `liveness.site_outage_share` (default 0.8) of its watched devices, and at least `liveness.site_outage_min_devices` (default 5), went offline within `liveness.site_outage_window_s` (default 600) of each other. The devices of an outage have device_status.cause = site_outage. Devices in maintenance are not counted. No `device` tag.",
  tags: {
    customer: 'Customer of the site (absent if the inventory has none)',
    site: 'The site',
    contract: "The customer's contract (basic | standard | premium; absent if none), for alert routing",
  },
  fields: {
    total: { type: 'int', description: 'Watched devices of the site, maintenance excluded' },
    offline: { type: 'int', description: 'Of those, the devices offline' },
    offline_share: { type: 'float', description: 'offline / total, 0 to 1' },
    outage: { type: 'int', description: '1 while the site is in an outage, else 0' },
    outage_devices: { type: 'int', description: 'Devices offline in the outage (0 when there is none)' },
  },
});

export const runtimeMeasurements = [
  deviceStatus,
  deviceAvailability,
  fleetStatus,
  deviceAttention,
  fleetFirmware,
  siteStatus,
];
