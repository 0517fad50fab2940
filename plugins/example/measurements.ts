import { defineMeasurement } from '../../collector/sdk/index.ts';

export const sensorReading = defineMeasurement({
  name: 'sensor_reading',
  description: 'One reading of an example sensor, stamped with the time the sensor took it.',
  tags: {},
  fields: {
    temperature_c: { type: 'float', unit: '°C', description: 'Air temperature' },
    humidity_pct: { type: 'float', unit: '%', description: 'Relative humidity' },
    uptime_s: { type: 'int', unit: 's', description: 'Seconds since the sensor booted' },
  },
});

export const measurements = [sensorReading];
