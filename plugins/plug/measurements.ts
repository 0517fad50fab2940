import { defineMeasurement } from '../../collector/sdk/index.ts';

// Both protocols write the same measurements, so one dashboard shows every plug; the `protocol`
// tag tells them apart. Points are stamped when the reading arrived (Tasmota's own "Time" is
// local time without a zone, and a Shelly status carries no time of its own).

export const plugPower = defineMeasurement({
  name: 'plug_power',
  description: 'Electrical reading of a smart plug (each Shelly poll, each Tasmota tele/SENSOR).',
  tags: { protocol: 'shelly | tasmota' },
  fields: {
    power_w: { type: 'float', unit: 'W', description: 'Active power drawn now' },
    energy_wh: {
      type: 'float',
      unit: 'Wh',
      description: 'Energy counter since the plug was reset (use difference() for consumption)',
    },
    voltage_v: { type: 'float', unit: 'V', description: 'Mains voltage' },
    current_a: { type: 'float', unit: 'A', description: 'Current drawn' },
    power_factor: { type: 'float', description: 'Power factor, 0-1' },
    temperature_c: { type: 'float', unit: '°C', description: 'Internal temperature of the plug (Shelly only)' },
  },
});

export const plugState = defineMeasurement({
  name: 'plug_state',
  description:
    'Relay state and link quality of a smart plug (each Shelly poll, Tasmota tele/STATE and command results).',
  tags: { protocol: 'shelly | tasmota' },
  fields: {
    on: { type: 'int', description: '1 when the relay is closed (the console has power), else 0' },
    rssi_dbm: { type: 'float', unit: 'dBm', description: 'Wi-Fi signal strength (Tasmota)' },
    uptime_s: { type: 'int', unit: 's', description: 'Seconds since the plug booted (Tasmota)' },
  },
});

export const measurements = [plugPower, plugState];
