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
      if (
        (typeof value === 'number' && Number.isInteger(value) && value >= 0) ||
        (typeof value === 'bigint' && value >= 0n)
      )
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const SPACE = 0x20;
const BOOLEANS = new Set(['t', 'T', 'true', 'True', 'TRUE', 'f', 'F', 'false', 'False', 'FALSE']);

/**
 * Field keys as a measurement's lines last listed them (raw text, escapes kept) and their declared
 * types, per declaration: a line with the same keys in the same order has its keys compared in
 * place, with no string cut out of it or looked up. Only declared keys get here.
 */
const KEYS_REMEMBERED = 64;
const lastKeys = new WeakMap<MeasurementSpec, { raw: string[]; types: string[] }>();

/**
 * Why the field set of a line encoded elsewhere (`rest` of a `LineHead`) does not match its
 * declaration, or undefined when every field is declared with the type its text has in line
 * protocol (`5i` int, `5u` uint, `"…"` string, `t`/`false`… bool, anything else float). One pass
 * over the characters, no regular expression: this runs for every forwarded line.
 */
export function fieldSetMismatch(spec: MeasurementSpec, rest: string): string | undefined {
  let known = lastKeys.get(spec);
  if (!known) lastKeys.set(spec, (known = { raw: [], types: [] }));
  const end = rest.length;
  let i = 0;
  for (let n = 0; ; n++) {
    const keyStart = i;
    let declared: string;
    const raw = known.raw[n];
    if (raw !== undefined && rest.startsWith(raw, i) && rest.charCodeAt(i + raw.length) === EQUALS) {
      declared = known.types[n];
      i += raw.length;
    } else {
      // Key: up to an unescaped `=`.
      let escaped = false;
      for (; i < end; i++) {
        const c = rest.charCodeAt(i);
        if (c === BACKSLASH) {
          escaped = true;
          i++;
        } else if (c === EQUALS) break;
      }
      if (i >= end) return 'a field without a value';
      const rawKey = rest.slice(keyStart, i);
      const key = escaped ? rawKey.replace(/\\(.)/g, '$1') : rawKey;
      // `Object.hasOwn`: a field named `constructor` or `__proto__` is not declared by inheritance.
      const field = Object.hasOwn(spec.fields, key) ? spec.fields[key] : undefined;
      if (!field) return `field "${key}" is not declared`;
      declared = field.type;
      // Bounded: a line repeating one key a thousand times is checked, not remembered.
      if (n < KEYS_REMEMBERED) {
        known.raw[n] = rawKey;
        known.types[n] = declared;
      }
    }
    i++;
    let type: string;
    if (rest.charCodeAt(i) === QUOTE) {
      for (i++; i < end; i++) {
        const c = rest.charCodeAt(i);
        if (c === BACKSLASH) i++;
        else if (c === QUOTE) break;
      }
      i++;
      type = 'string';
    } else {
      const valueStart = i;
      while (i < end && rest.charCodeAt(i) !== COMMA && rest.charCodeAt(i) !== SPACE) i++;
      const first = rest.charCodeAt(valueStart) | 0x20; // lower case
      const last = rest.charCodeAt(i - 1);
      if (last === 0x69 /* i */) type = 'int';
      else if (last === 0x75 /* u */) type = 'uint';
      // Only a value starting with t or f can be a boolean: numbers need no slice.
      else if ((first === 0x74 || first === 0x66) && BOOLEANS.has(rest.slice(valueStart, i))) type = 'bool';
      else type = 'float';
    }
    if (declared !== type)
      return `field "${unescapeKey(rest, keyStart)}" is declared ${declared} but the line has ${type}`;
    if (i >= end || rest.charCodeAt(i) === SPACE) return undefined;
    i++; // the comma before the next field
  }
}

/** The key of the field starting at `from`, unescaped (for messages). */
function unescapeKey(rest: string, from: number): string {
  let i = from;
  while (i < rest.length && rest.charCodeAt(i) !== EQUALS) i += rest.charCodeAt(i) === BACKSLASH ? 2 : 1;
  return rest.slice(from, i).replace(/\\(.)/g, '$1');
}
