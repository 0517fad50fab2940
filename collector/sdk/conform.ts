import { UndeclaredMeasurement } from './errors.ts';
import type { MeasurementSpec } from './measurement.ts';
import { Int, Uint, type Fields } from './point.ts';

/**
 * Checks emitted fields against their declaration and marks integer fields, so that a field's
 * type in InfluxDB is the declared one and never changes. Throws on an undeclared field or a
 * value of the wrong type: that is a plugin bug, and silent coercion would hide it.
 */
export function conformFields(spec: MeasurementSpec, fields: Fields): Fields {
  const out: Fields = {};
  let any = false;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined || value === null) continue;
    const field = spec.fields[key];
    if (!field) throw new UndeclaredMeasurement(`${spec.name}: field "${key}" is not declared`);
    out[key] = conformValue(spec.name, key, field.type, value);
    any = true;
  }
  if (!any) throw new UndeclaredMeasurement(`${spec.name}: a point needs at least one field`);
  return out;
}

function conformValue(measurement: string, key: string, type: string, value: unknown) {
  switch (type) {
    case 'float':
      if (typeof value === 'number') return value;
      break;
    case 'int':
      if (value instanceof Int) return value;
      if (typeof value === 'number' && Number.isInteger(value)) return new Int(value);
      if (typeof value === 'bigint') return new Int(value);
      break;
    case 'uint':
      if (value instanceof Uint) return value;
      if ((typeof value === 'number' && Number.isInteger(value) && value >= 0) || (typeof value === 'bigint' && value >= 0n))
        return new Uint(value);
      break;
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'bool':
      if (typeof value === 'boolean') return value;
      break;
  }
  throw new UndeclaredMeasurement(
    `${measurement}: field "${key}" is declared ${type} but got ${typeof value} ${String(value)}`,
  );
}
