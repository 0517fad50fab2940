import { defineMeasurement } from '../sdk/index.ts';

/** What the runtime writes for every device, whatever its plugin. */
export const deviceStatus = defineMeasurement({
  name: 'device_status',
  description:
    'Liveness of every watched device, written on every transition and every status interval, so that offline is a value and not a missing series.',
  tags: {},
  fields: {
    online: { type: 'int', description: '1 when the device reported within its allowed silence (online or error), else 0' },
    state: { type: 'string', description: 'online | offline | error | maintenance' },
    last_seen_s: { type: 'int', unit: 's', description: 'Seconds since the device last reported (absent if never seen)' },
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
    maintenance_s: { type: 'int', unit: 's', description: 'Seconds inside a maintenance window (excluded from uptime)' },
  },
});

export const runtimeMeasurements = [deviceStatus, deviceAvailability];
