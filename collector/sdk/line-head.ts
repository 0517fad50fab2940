import type { Tags } from './point.ts';

/**
 * The head of one line of line protocol that was encoded elsewhere (by an edge agent): its
 * measurement and tags, parsed, and the rest (fields and timestamp) kept as received text, so a
 * gateway plugin can check whose point it is and hand it on with `ctx.forward` without decoding
 * and re-encoding the fields.
 */
export interface LineHead {
  measurement: string;
  tags: Tags;
  /**
   * The measurement and tags exactly as received, when parsed from a line: `ctx.forward` checks
   * and encodes a head once per device and text, and reuses that for the device's next lines with
   * the same text. A gateway may add the `device` tag the text lacks; any other change to `tags`
   * must drop `text`.
   */
  text?: string;
  /** `<fields> <timestamp>` exactly as received (without the separating space before it). */
  rest: string;
  /** The timestamp text, if the line has one. */
  time?: string;
}

/** A line that is not line protocol; the message says where it broke. */
export class MalformedLine extends Error {
  override name = 'MalformedLine';
}

const BACKSLASH = 0x5c;
const SPACE = 0x20;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const QUOTE = 0x22;

/** Parses the measurement and tags of `line`; throws MalformedLine. Pure. */
export function parseLineHead(line: string): LineHead {
  if (line.length === 0) throw new MalformedLine('empty line');
  if (line.includes('\n')) throw new MalformedLine('more than one line');
  let i = 0;
  let measurement = '';
  let start = 0;
  // Measurement: up to an unescaped comma or space.
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === BACKSLASH && (line.charCodeAt(i + 1) === COMMA || line.charCodeAt(i + 1) === SPACE)) {
      measurement += line.slice(start, i);
      start = ++i;
      continue;
    }
    if (c === COMMA || c === SPACE) break;
  }
  measurement += line.slice(start, i);
  if (!measurement) throw new MalformedLine('no measurement');
  const tags: Tags = {};
  while (line.charCodeAt(i) === COMMA) {
    i++;
    const [key, afterKey] = readName(line, i, EQUALS);
    if (line.charCodeAt(afterKey) !== EQUALS || !key) throw new MalformedLine(`bad tag at character ${i}`);
    const [value, afterValue] = readName(line, afterKey + 1, COMMA);
    if (!value) throw new MalformedLine(`tag "${key}" has no value`);
    // A tag key `__proto__` is legal line protocol; assignment would drop it silently.
    if (key === '__proto__')
      Object.defineProperty(tags, key, { value, enumerable: true, writable: true, configurable: true });
    else tags[key] = value;
    i = afterValue;
  }
  if (line.charCodeAt(i) !== SPACE) throw new MalformedLine('no field set');
  const rest = line.slice(i + 1);
  const fieldsEnd = endOfFields(rest);
  if (fieldsEnd === 0 || !rest.slice(0, fieldsEnd).includes('=')) throw new MalformedLine('no field set');
  const time = fieldsEnd < rest.length ? rest.slice(fieldsEnd + 1) : undefined;
  if (time !== undefined && !/^-?\d+$/.test(time)) throw new MalformedLine(`bad timestamp "${time}"`);
  const text = line.slice(0, i);
  return time === undefined ? { measurement, tags, text, rest } : { measurement, tags, text, rest, time };
}

/** Reads a tag key or value (escapes: `\,` `\=` `\ `) up to `stop`, space or end. */
function readName(line: string, from: number, stop: number): [string, number] {
  let out = '';
  let start = from;
  let i = from;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === BACKSLASH) {
      const n = line.charCodeAt(i + 1);
      if (n === COMMA || n === EQUALS || n === SPACE) {
        out += line.slice(start, i);
        start = ++i;
        continue;
      }
    }
    if (c === stop || c === SPACE || c === COMMA || (stop === EQUALS && c === EQUALS)) break;
  }
  return [out + line.slice(start, i), i];
}

/** Index of the space that ends the field set (string values may hold spaces), or the length. */
function endOfFields(rest: string): number {
  let quoted = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (quoted) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) quoted = false;
    } else if (c === QUOTE) quoted = true;
    else if (c === BACKSLASH) i++;
    else if (c === SPACE) return i;
  }
  if (quoted) throw new MalformedLine('unterminated string field');
  return rest.length;
}
