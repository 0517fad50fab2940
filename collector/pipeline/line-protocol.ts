/**
 * Encodes one `Point` to one line of InfluxDB line protocol.
 *
 * The rules are those of the reference Go implementation (github.com/influxdata/line-protocol/v2),
 * which produced the conformance corpus in `test/fixtures/line-protocol-corpus`:
 * - the measurement escapes comma and space; tag keys, tag values and field keys escape comma,
 *   equals and space; a backslash there is written as is (InfluxDB reads `\` as an escape only
 *   before one of those characters), so a name that *ends* in a backslash cannot be written;
 * - string field values are quoted, with `"` and `\` escaped; newlines inside them are kept;
 * - names, keys and tag values may not hold ASCII control characters (a newline would end the
 *   line) or unpaired UTF-16 surrogates (they have no UTF-8 form);
 * - floats are written like Go's `strconv.FormatFloat(f, 'g', -1, 64)` (go-float.ts): shortest
 *   digits that round-trip, exponent form outside [1e-4, 1e6) with at least two exponent digits,
 *   `-0` kept;
 * - tags are sorted by key in byte order (what InfluxDB does itself; pre-sorted is cheaper for it);
 *   fields keep their order.
 * Where this model and the Go encoder differ: a tag whose value is `undefined` or empty is left out
 * (the `Point` contract), where the Go encoder refuses it.
 *
 * A point that cannot be written exactly throws `LineProtocolError`: one bad point must fail
 * loudly where it was made, not as a 400 that takes a whole batch down later.
 *
 * This is on the ingest hot path (100k+ points/s, goal: 3.5x influxdb-client's encoder, see
 * bench/line-protocol.ts), hence the unidiomatic parts:
 * - measurements and keys are checked and escaped once; each measurement remembers the key orders
 *   ("shapes") it met, so a point like the previous ones costs pointer comparisons of its keys,
 *   not lookups and sorting (caches are bounded: invented names cost rebuilds, never memory);
 * - tag values are checked by an inline char-code scan, and only escaped when it finds something;
 * - numbers are written from small integers and digit tables (digits.ts, go-float.ts): V8 prints
 *   a fractional double ~8x slower than a small integer, and caches every number it prints, which
 *   GC then has to copy.
 * Per-series caches (the whole tag text of a device, say) were tried and lost: with thousands of
 * devices they miss the CPU caches and cost more than they save. `encodeLine` is synchronous, so
 * the scratch arrays and caches below need no locking and are never seen half-written.
 */
import { Int, Uint, type Fields, type Point, type Tags } from '../sdk/point.ts';
import { appendIntegerNumber, appendUint, DIGITS, DIGITS3, SAFE_LIMIT } from './digits.ts';
import { appendFloat } from './go-float.ts';
import { compareUtf8 } from './utf8-order.ts';

export class LineProtocolError extends Error {
  override name = 'LineProtocolError';
  constructor(
    message: string,
    /** The measurement of the refused point. */
    readonly measurement: string,
    /** The tag or field key at fault, when there is one. */
    readonly key?: string,
  ) {
    super(message);
  }
}

// What a character of a name needs, for chars < 128: 0 nothing, 1 a backslash before it,
// 2 it cannot be written. Two tables: the measurement does not escape `=`.
const KEY_CLASS = new Uint8Array(128);
const MEASUREMENT_CLASS = new Uint8Array(128);
for (let c = 0; c < 0x20; c++) KEY_CLASS[c] = MEASUREMENT_CLASS[c] = 2;
KEY_CLASS[0x7f] = MEASUREMENT_CLASS[0x7f] = 2;
KEY_CLASS[0x2c] = KEY_CLASS[0x20] = KEY_CLASS[0x3d] = 1; // , space =
MEASUREMENT_CLASS[0x2c] = MEASUREMENT_CLASS[0x20] = 1; // , space

const BACKSLASH = 0x5c;
const INT64_MIN = -9223372036854775808; // -2^63, exact as a double
const INT64_LIMIT = 9223372036854775808; // 2^63: the first double above int64
const UINT64_LIMIT = 18446744073709551616; // 2^64
const INT64_MIN_BIG = -(2n ** 63n);
const INT64_MAX_BIG = 2n ** 63n - 1n;
const UINT64_MAX_BIG = 2n ** 64n - 1n;

/** Encodes `point` to one line of line protocol, without a trailing newline. */
export function encodeLine(point: Point): string {
  const measurement = point.measurement;
  const entry = entryOf(measurement);
  const tags = point.tags;
  let line = tags === undefined ? entry.text : appendTagSet(entry, tags, measurement);

  // Fields are written as they are read, so that a float is never stored (and boxed) on the way.
  // Their `,key=` texts come from the measurement's last field shape while the keys match it.
  const fields: Fields = point.fields;
  const shape = entry.fieldShape;
  const shapeKeys = shape.keys;
  let n = 0;
  let matched = true;
  let first = true;
  for (const key in fields) {
    const value = fields[key];
    scratchKeys[n] = key;
    if (matched && shapeKeys[n] !== key) matched = false;
    n++;
    if (value === undefined || value === null) continue;
    if (matched) {
      const prefix = first ? shape.space[n - 1] : shape.comma[n - 1];
      line += prefix ?? keyPrefix(key, measurement, 'field key', first);
    } else {
      line += keyPrefix(key, measurement, 'field key', first);
    }
    first = false;
    // `typeof x === '...'` tests compile to type checks; a `switch (typeof x)` calls a builtin.
    // The formatters append their pieces to `line` rather than join them first.
    if (typeof value === 'number') line = appendFloat(line, value) ?? nonFinite(value, measurement, key);
    else if (typeof value === 'string') line = appendQuoted(line, value, measurement, key);
    else if (typeof value === 'boolean') line += value ? 'true' : 'false';
    else line = appendInteger(line, value, measurement, key);
  }
  if (!matched) entry.fieldShape = fieldShapeOf(n);
  if (first) {
    throw new LineProtocolError(
      `point ${q(measurement)} has no fields: InfluxDB needs at least one field with a value`,
      measurement,
    );
  }

  const time = point.time;
  if (time !== undefined) line += formatTime(time, measurement);
  return line;
}

/**
 * `measurement,tag=value,...`: the head of a line exactly as `encodeLine` writes it (tags sorted
 * and escaped, empty values left out), for a line whose fields and timestamp were encoded
 * elsewhere (lines forwarded by edge agents).
 */
export function encodeHead(measurement: string, tags: Tags | undefined): string {
  const entry = entryOf(measurement);
  return tags === undefined ? entry.text : appendTagSet(entry, tags, measurement);
}

function entryOf(measurement: string): MeasurementEntry {
  if (measurement === lastMeasurement) return lastEntry!;
  const entry = measurements.get(measurement) ?? addMeasurement(measurement);
  lastMeasurement = measurement;
  lastEntry = entry;
  return entry;
}

/** The measurement's text and its tags. */
function appendTagSet(entry: MeasurementEntry, tags: Tags, measurement: string): string {
  // Keys are compared with the measurement's last tag shape as they come.
  const last = entry.tagShapes[0];
  const lastKeys = last !== undefined ? last.keys : NO_KEYS;
  let matched = true;
  let n = 0;
  for (const key in tags) {
    scratchKeys[n] = key;
    scratchValues[n] = tags[key];
    if (matched && lastKeys[n] !== key) matched = false;
    n++;
  }
  if (n === 0) return entry.text;
  const shape = matched && n === lastKeys.length ? last : tagShapeOf(entry, n, measurement);
  return appendTags(entry.text, shape, n, measurement);
}

/*
 * What is remembered between calls. A measurement and its keys are validated and escaped once,
 * then reused: plugins emit a handful of measurements, each with the same tag and field keys in
 * the same order every time. Each measurement keeps the shapes (key sequences) it last met; a
 * point of that shape is written with pointer comparisons of its keys and no lookups or sorting.
 * Everything here is bounded: a caller that invents names costs rebuilds, never memory.
 */
const MEASUREMENTS_MAX = 10_000;
const TAG_SHAPES_MAX = 4;
const PREFIXES_MAX = 10_000;

interface MeasurementEntry {
  /** The escaped measurement. */
  text: string;
  /** Tag key sequences met, most recent first. */
  tagShapes: TagShape[];
  /** The field key sequence met last. */
  fieldShape: FieldShape;
}

/** Tag keys in the order a point listed them, and how to write them sorted. */
interface TagShape {
  keys: string[];
  /** Positions in `keys`, in the order the tags are written (sorted by key). */
  order: number[];
  /** `,key=` for each written position; `undefined` for a key that cannot be written. */
  prefixes: (string | undefined)[];
}

/** Field keys in the order a point listed them, with their `,key=` and ` key=` texts. */
interface FieldShape {
  keys: string[];
  comma: (string | undefined)[];
  space: (string | undefined)[];
}

const measurements = new Map<string, MeasurementEntry>();
/** The measurement of the previous point: points often come in runs of one measurement. */
let lastMeasurement: unknown = Symbol('none');
let lastEntry: MeasurementEntry | undefined;
const NO_KEYS: string[] = [];
const NO_FIELDS: FieldShape = { keys: NO_KEYS, comma: [], space: [] };

/** The keys and values of the point being encoded; `encodeLine` is synchronous, one suffices. */
const scratchKeys: string[] = [];
const scratchValues: (string | undefined)[] = [];

function addMeasurement(measurement: string): MeasurementEntry {
  if (typeof measurement !== 'string') {
    throw new LineProtocolError(
      `a point's measurement must be a string, got ${typeof measurement}`,
      String(measurement),
    );
  }
  const text = escapeName(measurement, MEASUREMENT_CLASS, measurement, undefined, 'measurement');
  if (measurement.charCodeAt(0) === 0x23) {
    throw new LineProtocolError(
      `measurement ${q(measurement)} starts with "#": InfluxDB would read the line as a comment`,
      measurement,
    );
  }
  const entry: MeasurementEntry = { text, tagShapes: [], fieldShape: NO_FIELDS };
  if (measurements.size >= MEASUREMENTS_MAX) measurements.clear();
  measurements.set(measurement, entry);
  return entry;
}

/** `line` and `,k1=v1,k2=v2...` for the `n` tags in the scratch arrays, sorted and escaped. */
function appendTags(line: string, shape: TagShape, n: number, measurement: string): string {
  const { order, prefixes } = shape;
  for (let j = 0; j < n; j++) {
    const i = order[j];
    const value = scratchValues[i];
    if (typeof value === 'string' && value !== '') {
      const prefix = prefixes[j] ?? keyPrefix(scratchKeys[i], measurement, 'tag key', false);
      // Inline for the common case, nothing to escape (letters, digits, `-`, `.`, `_`, `:`...).
      const length = value.length;
      let k = 0;
      while (k < length) {
        const c = value.charCodeAt(k);
        if ((c > 0x3d && c < 0x7f) || (c > 0x2c && c < 0x3d)) k++;
        else break;
      }
      const text =
        k === length && value.charCodeAt(length - 1) !== BACKSLASH
          ? value
          : k < length
            ? escapeNameFrom(value, k, KEY_CLASS, measurement, scratchKeys[i], 'tag value')
            : escapeName(value, KEY_CLASS, measurement, scratchKeys[i], 'tag value');
      line = line + prefix + text;
    } else if (value !== undefined && value !== '') {
      const key = scratchKeys[i];
      throw new LineProtocolError(
        `tag ${q(key)} of ${q(measurement)} is a ${typeof value}: tag values are strings`,
        measurement,
        key,
      );
    }
  }
  return line;
}

function tagShapeOf(entry: MeasurementEntry, n: number, measurement: string): TagShape {
  const shapes = entry.tagShapes;
  for (let s = 0; s < shapes.length; s++) {
    const keys = shapes[s].keys;
    if (keys.length !== n) continue;
    let i = 0;
    while (i < n && keys[i] === scratchKeys[i]) i++;
    if (i === n) {
      if (s > 0) shapes.unshift(shapes.splice(s, 1)[0]);
      return shapes[0];
    }
  }
  const keys = scratchKeys.slice(0, n);
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    let j = i;
    while (j > 0 && compareUtf8(keys[i], keys[order[j - 1]]) < 0) j--;
    order.splice(j, 0, i);
  }
  const prefixes = order.map((i) => tryKeyPrefix(keys[i], measurement, false));
  const shape: TagShape = { keys, order, prefixes };
  shapes.unshift(shape);
  if (shapes.length > TAG_SHAPES_MAX) shapes.pop();
  return shape;
}

function fieldShapeOf(n: number): FieldShape {
  const keys = scratchKeys.slice(0, n);
  return {
    keys,
    comma: keys.map((key) => tryKeyPrefix(key, '', false)),
    space: keys.map((key) => tryKeyPrefix(key, '', true)),
  };
}

/** `,key=` (or ` key=` for the first field), escaped; cached, as keys come from a small set. */
const commaPrefixes = new Map<string, string>();
const spacePrefixes = new Map<string, string>();

function keyPrefix(key: string, measurement: string, what: string, first: boolean): string {
  const cache = first ? spacePrefixes : commaPrefixes;
  let prefix = cache.get(key);
  if (prefix === undefined) {
    prefix = (first ? ' ' : ',') + escapeName(key, KEY_CLASS, measurement, key, what) + '=';
    if (cache.size >= PREFIXES_MAX) cache.clear();
    cache.set(key, prefix);
  }
  return prefix;
}

/**
 * The prefix of a key for a shape, or `undefined` if the key cannot be written: that is only an
 * error for a point that gives the key a value, and `keyPrefix` then says why.
 */
function tryKeyPrefix(key: string, measurement: string, first: boolean): string | undefined {
  try {
    return keyPrefix(key, measurement, 'key', first);
  } catch {
    return undefined;
  }
}

/**
 * Returns `s` escaped for a measurement (`table` = MEASUREMENT_CLASS) or a key or tag value
 * (KEY_CLASS), or throws if it cannot be written. The common case, nothing to escape, returns
 * `s` itself after one scan.
 */
function escapeName(s: string, table: Uint8Array, measurement: string, key: string | undefined, what: string): string {
  const n = s.length;
  if (n === 0) throw nameError(measurement, key, what, 'is empty');
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 ? table[c] !== 0 : c >= 0xd800 && c <= 0xdfff) {
      return escapeNameFrom(s, i, table, measurement, key, what);
    }
  }
  refuseTrailingBackslash(s, measurement, key, what);
  return s;
}

/** A name ending in `\` would escape the separator after it: nothing can write that. */
function refuseTrailingBackslash(s: string, measurement: string, key: string | undefined, what: string): void {
  if (s.charCodeAt(s.length - 1) === BACKSLASH) {
    throw nameError(
      measurement,
      key,
      what,
      `ends with a backslash, which would escape the separator after it (${q(s)})`,
    );
  }
}

/**
 * Tag values that need escaping (a model name with spaces) come back point after point: their
 * escaped form is kept. Bounded like the other caches.
 */
const escapedValues = new Map<string, string>();
const ESCAPED_VALUES_MAX = 10_000;

function escapeNameFrom(
  s: string,
  from: number,
  table: Uint8Array,
  measurement: string,
  key: string | undefined,
  what: string,
): string {
  if (table !== KEY_CLASS) return escapeNameFromScan(s, from, table, measurement, key, what);
  let escaped = escapedValues.get(s);
  if (escaped === undefined) {
    escaped = escapeNameFromScan(s, from, table, measurement, key, what);
    if (escapedValues.size >= ESCAPED_VALUES_MAX) escapedValues.clear();
    escapedValues.set(s, escaped);
  }
  return escaped;
}

function escapeNameFromScan(
  s: string,
  from: number,
  table: Uint8Array,
  measurement: string,
  key: string | undefined,
  what: string,
): string {
  let out = s.slice(0, from);
  let start = from;
  const n = s.length;
  for (let i = from; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      const cls = table[c];
      if (cls === 0) continue;
      if (cls === 2) {
        const name = c === 0x0a ? 'a newline' : c === 0x0d ? 'a carriage return' : `control character U+${hex4(c)}`;
        throw nameError(measurement, key, what, `holds ${name}, which line protocol cannot represent (${q(s)})`);
      }
      out += s.slice(start, i) + '\\';
      start = i;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const paired =
        c < 0xdc00 ? i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1)) : i > 0 && isHighSurrogate(s.charCodeAt(i - 1));
      if (!paired) {
        throw nameError(measurement, key, what, `holds an unpaired surrogate U+${hex4(c)}, which has no UTF-8 form`);
      }
    }
  }
  refuseTrailingBackslash(s, measurement, key, what);
  return out + s.slice(start);
}

function nameError(measurement: string, key: string | undefined, what: string, problem: string): LineProtocolError {
  const message =
    key === undefined
      ? `measurement ${q(measurement)} ${problem}`
      : what === 'tag value'
        ? `tag ${q(key)} of ${q(measurement)}: the value ${problem}`
        : `${what} ${q(key)} of ${q(measurement)} ${problem}`;
  return new LineProtocolError(message, measurement, key);
}

/** `line` + a string field value: quoted, `"` and `\` escaped. Newlines are allowed in quotes. */
function appendQuoted(line: string, s: string, measurement: string, key: string): string {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === BACKSLASH || (c >= 0xd800 && c <= 0xdfff))
      return line + quoteStringFrom(s, i, measurement, key);
  }
  return line + '"' + s + '"';
}

function quoteStringFrom(s: string, from: number, measurement: string, key: string): string {
  let out = '"' + s.slice(0, from);
  let start = from;
  const n = s.length;
  for (let i = from; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === BACKSLASH) {
      out += s.slice(start, i) + '\\';
      start = i;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const paired =
        c < 0xdc00 ? i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1)) : i > 0 && isHighSurrogate(s.charCodeAt(i - 1));
      if (!paired) {
        throw new LineProtocolError(
          `field ${q(key)} of ${q(measurement)} holds an unpaired surrogate U+${hex4(c)}, which has no UTF-8 form`,
          measurement,
          key,
        );
      }
    }
  }
  return out + s.slice(start) + '"';
}

/** `String(n) + 'i'`: small int fields (flags, percentages, counts) need no concatenation. */
const INT_TEXT = DIGITS.map((d) => d + 'i');

/** The float text alone, as `encodeLine` writes it (for tests and tools). */
export function formatFloatValue(v: number): string {
  return appendFloat('', v) ?? nonFinite(v, '', 'value');
}

function nonFinite(v: number, measurement: string, key: string): never {
  throw new LineProtocolError(
    `field ${q(key)} of ${q(measurement)} is ${v !== v ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}: ` +
      'InfluxDB cannot store NaN or Infinity',
    measurement,
    key,
  );
}

function appendInteger(line: string, value: unknown, measurement: string, key: string): string {
  if (value instanceof Int) {
    const v = value.value;
    if (typeof v === 'number') {
      if (v >= 0 && v < 1000 && Number.isInteger(v)) return line + INT_TEXT[v];
      if (Number.isInteger(v) && v >= INT64_MIN && v < INT64_LIMIT) return appendIntegerNumber(line, v) + 'i';
    } else if (typeof v === 'bigint') {
      if (v >= INT64_MIN_BIG && v <= INT64_MAX_BIG) return line + v.toString() + 'i';
    }
    throw new LineProtocolError(
      `field ${q(key)} of ${q(measurement)} is Int(${String(v)}): an int field must be an integer in int64 range`,
      measurement,
      key,
    );
  }
  if (value instanceof Uint) {
    const v = value.value;
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v < UINT64_LIMIT) return appendIntegerNumber(line, v) + 'u';
    } else if (typeof v === 'bigint') {
      if (v >= 0n && v <= UINT64_MAX_BIG) return line + v.toString() + 'u';
    }
    throw new LineProtocolError(
      `field ${q(key)} of ${q(measurement)} is Uint(${String(v)}): a uint field must be an integer from 0 to 2^64-1`,
      measurement,
      key,
    );
  }
  throw new LineProtocolError(
    `field ${q(key)} of ${q(measurement)} is ${value === null ? 'null' : typeof value} ${String(value)}: ` +
      'field values are numbers (float), Int, Uint, strings or booleans',
    measurement,
    key,
  );
}

/**
 * ` time`. Consecutive points have nearly the same time: the text of all but its last three
 * digits is kept from the previous call.
 */
let timeThousands = -1;
let timeThousandsText = '';

function formatTime(time: number | bigint, measurement: string): string {
  if (typeof time === 'number') {
    if (time >= 1000 && time < SAFE_LIMIT && Number.isInteger(time)) {
      const thousands = Math.floor(time / 1000);
      if (thousands !== timeThousands) {
        timeThousandsText = appendUint(' ', thousands);
        timeThousands = thousands;
      }
      return timeThousandsText + DIGITS3[time - thousands * 1000];
    }
    if (Number.isInteger(time) && time >= INT64_MIN && time < INT64_LIMIT) return appendIntegerNumber(' ', time);
  } else if (typeof time === 'bigint') {
    if (time >= INT64_MIN_BIG && time <= INT64_MAX_BIG) return ' ' + time.toString();
  }
  throw new LineProtocolError(
    `time of ${q(measurement)} is ${String(time)}: a timestamp must be an integer in int64 range, ` +
      'in the unit of the write precision',
    measurement,
  );
}

/** A name quoted for an error message, with anything unprintable made visible. */
const q = (s: string): string => JSON.stringify(s);
const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;
const hex4 = (c: number): string => c.toString(16).toUpperCase().padStart(4, '0');
