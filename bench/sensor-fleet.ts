/**
 * The synthetic fleet the pipeline benchmarks emit (bench/pipeline.ts, bench/memory.ts): 1,000
 * sensors, one three-field reading each per millisecond of a recent hour.
 */
import { encodeLine } from '../collector/pipeline/line-protocol.ts';
import { conformFields, defineMeasurement, MemoryDirectory, type Fields } from '../collector/sdk/index.ts';

export const SENSORS = 1000;

export const reading = defineMeasurement({
  name: 'bench_reading',
  description: 'benchmark',
  tags: {},
  fields: {
    temperature_c: { type: 'float', description: 't' },
    humidity_pct: { type: 'float', description: 'h' },
    uptime_s: { type: 'int', description: 'u' },
  },
});

export function sensorDirectory(): MemoryDirectory {
  const d = new MemoryDirectory();
  for (let i = 0; i < SENSORS; i++) {
    d.add({
      id: `sensor-${i}`,
      kind: 'sensor',
      model: 'TH-1',
      customer: `customer-${i % 20}`,
      site: `site-${i % 200}`,
    });
  }
  return d;
}

/** Reading i: sensor i % SENSORS, at t0 + i / SENSORS ms. */
export function sensorReading(i: number, t0: number): { device: string; fields: Fields; time: number } {
  return {
    device: `sensor-${i % SENSORS}`,
    fields: { temperature_c: 20 + (i % 97) / 10, humidity_pct: 40 + (i % 13), uptime_s: i },
    time: t0 + Math.floor(i / SENSORS),
  };
}

/** The line the runtime spools for reading i, built directly: what the references hold or post. */
export function encodedReading(directory: MemoryDirectory, i: number, t0: number): string {
  const p = sensorReading(i, t0);
  const d = directory.lookup(p.device)!;
  return encodeLine({
    measurement: reading.name,
    fields: conformFields(reading, p.fields),
    tags: { device: p.device, kind: d.kind, model: d.model, customer: d.customer, site: d.site },
    time: p.time,
  });
}
