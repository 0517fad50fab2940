import { defineMeasurement } from '../../collector/sdk/index.ts';

export const terminalStatus = defineMeasurement({
  name: 'terminal_status',
  description: 'A TC-200 status report, stamped when the agent received it.',
  tags: {},
  fields: {
    state: { type: 'string', description: 'idle | in_transaction | error | updating | maintenance' },
    error_code: { type: 'int', description: 'Terminal error code, 0 when none (see the TC-200 error table)' },
    transactions: { type: 'int', description: 'Transactions since the terminal was installed (counter)' },
    failed_transactions: { type: 'int', description: 'Failed transactions since installation (counter)' },
    paper: { type: 'string', description: 'Receipt printer paper: ok | low | out' },
    temperature_c: { type: 'float', unit: '°C', description: 'Board temperature' },
    free_storage_bytes: { type: 'int', unit: 'bytes', description: 'Free flash storage' },
    cpu_pct: { type: 'float', unit: '%', description: 'CPU load' },
    mem_pct: { type: 'float', unit: '%', description: 'Memory in use' },
    disk_pct: { type: 'float', unit: '%', description: 'Flash storage in use' },
  },
  // terminal_status_hourly, per customer/site/kind/model and hour: the fleet trends of the TC-200
  // dashboard read it instead of every terminal's reports.
  rollup: {
    fields: {
      cpu_pct: 'mean',
      mem_pct: 'mean',
      disk_pct: 'mean',
      transactions: 'increase',
      failed_transactions: 'increase',
      error_code: 'count_positive',
    },
  },
});

export const terminalInfo = defineMeasurement({
  name: 'terminal_info',
  description: 'What a TC-200 says about itself in its hello: written at every (re)boot and reconnect.',
  tags: { port: 'Serial port the terminal is on, e.g. /dev/ttyUSB0' },
  fields: {
    firmware: { type: 'string', description: 'Firmware version it runs' },
    model: { type: 'string', description: 'Model, e.g. TC-200' },
    uptime_s: { type: 'int', unit: 's', description: 'Seconds since the terminal booted' },
    boot_count: { type: 'int', description: 'Boots since manufacture (counter): a step is a reboot or power loss' },
  },
});

export const terminalLink = defineMeasurement({
  name: 'terminal_link',
  description: 'Serial link quality for one terminal, counters since the port was opened; written with each status.',
  tags: { port: 'Serial port the terminal is on' },
  fields: {
    frames: { type: 'int', description: 'Valid frames received' },
    bad_crc: { type: 'int', description: 'Frames dropped for a CRC mismatch' },
    framing_errors: {
      type: 'int',
      description: 'Frames dropped for bad framing (cut short, bad escape, wrong length)',
    },
    discarded_bytes: { type: 'int', unit: 'bytes', description: 'Bytes of noise and of dropped frames' },
    retransmissions: { type: 'int', description: 'Frames the agent had to send again' },
    timeouts: { type: 'int', description: 'Frames given up after every retry' },
    duplicates: { type: 'int', description: 'Resent frames received again and not delivered twice' },
    naks: { type: 'int', description: 'Intact frames refused by the agent as malformed or unknown' },
  },
});

export const terminalFirmware = defineMeasurement({
  name: 'terminal_firmware',
  description: 'Progress and outcome of a firmware update, one point per step.',
  tags: {},
  fields: {
    state: { type: 'string', description: 'transferring | verifying | applying | updated | update_failed' },
    progress_pct: { type: 'float', unit: '%', description: 'Share of the image the terminal has acknowledged' },
    from_version: { type: 'string', description: 'Firmware before the update' },
    to_version: { type: 'string', description: 'Firmware being installed' },
    error: { type: 'string', description: 'Why the update failed (update_failed only)' },
  },
});

export const measurements = [terminalStatus, terminalInfo, terminalLink, terminalFirmware];
