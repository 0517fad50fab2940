import { defineMeasurement } from '../../collector/sdk/index.ts';

export const hostCpu = defineMeasurement({
  name: 'host_cpu',
  description:
    'CPU load of the PC over the last sampling period (systeminformation currentLoad, read on its own schedule).',
  tags: {},
  fields: {
    usage_pct: { type: 'float', unit: '%', description: 'Busy share of all cores' },
    user_pct: { type: 'float', unit: '%', description: 'User-space share' },
    system_pct: { type: 'float', unit: '%', description: 'Kernel share' },
    load_1m: { type: 'float', description: 'One-minute load average' },
  },
});

export const hostMemory = defineMeasurement({
  name: 'host_memory',
  description: 'Memory of the PC.',
  tags: {},
  fields: {
    total_bytes: { type: 'int', unit: 'bytes', description: 'Installed memory' },
    available_bytes: { type: 'int', unit: 'bytes', description: 'Memory available to new programs' },
    used_pct: { type: 'float', unit: '%', description: '100 × (total − available) / total' },
    swap_used_bytes: { type: 'int', unit: 'bytes', description: 'Swap in use' },
  },
});

export const hostDisk = defineMeasurement({
  name: 'host_disk',
  description: 'One mounted file system of the PC.',
  tags: { mount: 'Mount point, e.g. `/` or `C:`', fs: 'Device or file system name' },
  fields: {
    size_bytes: { type: 'int', unit: 'bytes', description: 'Size' },
    used_bytes: { type: 'int', unit: 'bytes', description: 'Used' },
    used_pct: { type: 'float', unit: '%', description: 'Used share' },
  },
});

export const hostNet = defineMeasurement({
  name: 'host_net',
  description: 'One network interface of the PC; counters since boot (use DERIVATIVE/NON_NEGATIVE_DIFFERENCE).',
  tags: { interface: 'Interface name, e.g. `eth0`' },
  fields: {
    rx_bytes: { type: 'int', unit: 'bytes', description: 'Received since boot' },
    tx_bytes: { type: 'int', unit: 'bytes', description: 'Sent since boot' },
    rx_errors: { type: 'int', description: 'Receive errors since boot' },
    tx_errors: { type: 'int', description: 'Send errors since boot' },
  },
});

export const hostSystem = defineMeasurement({
  name: 'host_system',
  description: 'Uptime and, where the hardware reports it, the CPU temperature.',
  tags: {},
  fields: {
    uptime_s: { type: 'int', unit: 's', description: 'Seconds since boot' },
    temperature_c: { type: 'float', unit: '°C', description: 'CPU package temperature (absent when not reported)' },
  },
});

export const hostSession = defineMeasurement({
  name: 'host_session',
  description: 'Local enforcement of a timed session on this station: what the agent did, even with the uplink cut.',
  tags: {},
  fields: {
    event: {
      type: 'string',
      description: '`set` (end time received), `cleared`, `enforced` (action done at expiry), `enforce_failed`',
    },
    ends_at_ms: { type: 'int', unit: 'ms', description: 'End of the session, epoch ms' },
    action: { type: 'string', description: '`lock`, `log_off` or `none`' },
    error: { type: 'string', description: 'Why the action failed (enforce_failed only)' },
  },
});

export const measurements = [hostCpu, hostMemory, hostDisk, hostNet, hostSystem, hostSession];
