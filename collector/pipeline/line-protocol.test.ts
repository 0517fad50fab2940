import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Int, Uint, type Fields, type FieldValue, type Point, type Tags } from '../sdk/point.ts';
import { encodeLine, formatFloatValue, LineProtocolError } from './line-protocol.ts';

// ---------------------------------------------------------------------------------------------
// The conformance corpus (github.com/influxdata/line-protocol-corpus), `encode` section;
// a copy with its licence in test/fixtures/line-protocol-corpus (SOURCE.md says where from).
// ---------------------------------------------------------------------------------------------

const CORPUS = new URL('../../test/fixtures/line-protocol-corpus/corpus.json', import.meta.url);

type CorpusValue = { float: number } | { int: bigint } | { uint: bigint } | { string: string } | { bool: boolean };
interface CorpusPoint {
  name: string;
  tags: { key: string; value: string }[];
  fields: { key: string; value: CorpusValue }[];
  time: bigint;
}
interface EncodeCase {
  input: { key: string; point: CorpusPoint; precision: string; about?: string };
  output: { result?: string; error?: string };
}

/**
 * The corpus holds int64/uint64 values and nanosecond times beyond 2^53 (9223372036854775807,
 * 18446744073709551615, 1603976386427072239), which `JSON.parse` would round. So every `time`,
 * `int` and `uint` number is first rewritten as a `{"$big": "digits"}` marker and revived as a
 * BigInt: the values reach the encoder exactly (as `Int(bigint)`, `Uint(bigint)`, bigint time),
 * and every case is compared with the expected line character for character.
 */
function readEncodeCases(): EncodeCase[] {
  const text = readFileSync(CORPUS, 'utf8').replace(
    /(?<!\\)"(time|int|uint)"(\s*:\s*)(-?\d+)(?=\s*[,}\r\n])/g,
    (_, key: string, colon: string, digits: string) => `"${key}"${colon}{"$big":"${digits}"}`,
  );
  const corpus = JSON.parse(text, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && typeof (value as { $big?: unknown }).$big === 'string'
      ? BigInt((value as { $big: string }).$big)
      : value,
  ) as { encode: Record<string, EncodeCase> };
  return Object.values(corpus.encode).sort((a, b) => (a.input.key < b.input.key ? -1 : 1));
}

const PRECISION_NS: Record<string, bigint> = {
  '1ns': 1n,
  '1µs': 1000n,
  '1us': 1000n,
  '1ms': 1_000_000n,
  '1s': 1_000_000_000n,
};

/**
 * The corpus point as our `Point`; `numbers`: integers and time as JavaScript numbers rather than
 * BigInts (only where they fit exactly), to exercise that path too. The corpus time is in
 * nanoseconds; ours is in the write precision.
 */
function toPoint(c: EncodeCase, numbers: boolean): Point {
  const p = c.input.point;
  const tags: Tags = {};
  for (const t of p.tags) tags[t.key] = t.value;
  const fields: Fields = {};
  for (const f of p.fields) fields[f.key] = toFieldValue(f.value, numbers);
  const unit = PRECISION_NS[c.input.precision];
  if (unit === undefined) throw new Error(`${c.input.key}: unknown precision ${c.input.precision}`);
  // Go's encoder truncates toward zero, as BigInt division does.
  const time = p.time / unit;
  return { measurement: p.name, tags, fields, time: numbers ? Number(time) : time };
}

function toFieldValue(v: CorpusValue, numbers: boolean): FieldValue {
  if ('float' in v) return v.float;
  if ('int' in v) return new Int(numbers ? Number(v.int) : v.int);
  if ('uint' in v) return new Uint(numbers ? Number(v.uint) : v.uint);
  if ('string' in v) return v.string;
  return v.bool;
}

const isSafe = (n: bigint) => n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER);

/** Whether every integer of the case (fields and time) fits a JavaScript number exactly. */
function fitsNumbers(c: EncodeCase): boolean {
  const p = c.input.point;
  return (
    isSafe(p.time) &&
    p.fields.every(({ value: v }) => ('int' in v ? isSafe(v.int) : 'uint' in v ? isSafe(v.uint) : true))
  );
}

/**
 * What our `Point` cannot say the way the corpus does, checked for every case so that a corpus
 * update cannot slip one past: repeated keys (a `Point` keeps one value per key), and integer-like
 * field keys (JavaScript lists those first in an object, whatever order they were set in).
 */
function unrepresentable(c: EncodeCase): string | undefined {
  const p = c.input.point;
  const fieldKeys = p.fields.map((f) => f.key);
  const tagKeys = p.tags.map((t) => t.key);
  if (new Set(fieldKeys).size !== fieldKeys.length) return 'a field key is repeated';
  if (new Set(tagKeys).size !== tagKeys.length) return 'a tag key is repeated';
  if (fieldKeys.some((k) => /^(0|[1-9]\d*)$/.test(k))) return 'an integer-like field key would be reordered';
  return undefined;
}

/**
 * Cases where our contract differs from the Go encoder that produced the corpus. Each is still
 * checked, against what our contract says instead.
 */
const BY_MEANING: Record<string, { reason: string; expected: string }> = {
  // The Go encoder refuses a tag with an empty value; our `Point` contract (collector/sdk/point.ts)
  // leaves such a tag out, so the line is written without it.
  '72fe529da6084a44692fe27cc2f105d1': {
    reason: 'empty tag value: the Go encoder refuses it, our Point contract omits the tag',
    expected: 'cpu value=42 0',
  },
};

/**
 * Cases that cannot be expressed as our `Point` at all, by key, with the reason. None in this
 * corpus (`unrepresentable` finds none); a case found there and not listed here fails.
 */
const NOT_REPRESENTABLE: Record<string, string> = {};

type Outcome = { kind: 'exact' | 'meaning' | 'skipped'; problem?: string };

/** What encoding one case gave, against what was expected. */
function runCase(c: EncodeCase, numbers = false): Outcome {
  const key = c.input.key;
  if (NOT_REPRESENTABLE[key] !== undefined) return { kind: 'skipped' };
  const reason = unrepresentable(c);
  if (reason !== undefined) return { kind: 'skipped', problem: `cannot be represented (${reason}) and is not listed` };
  const meaning = BY_MEANING[key];
  const kind = meaning !== undefined ? 'meaning' : 'exact';
  let line: string | undefined;
  let error: unknown;
  try {
    line = encodeLine(toPoint(c, numbers));
  } catch (e) {
    error = e;
  }
  if (error !== undefined && !(error instanceof LineProtocolError)) {
    return { kind, problem: `threw a non-LineProtocolError: ${String(error)}` };
  }
  const expected = meaning !== undefined ? { result: meaning.expected } : c.output;
  if (expected.error !== undefined) {
    return error !== undefined
      ? { kind }
      : { kind, problem: `expected error "${expected.error}", got ${JSON.stringify(line)}` };
  }
  if (error !== undefined)
    return { kind, problem: `expected ${JSON.stringify(expected.result)}, threw ${String(error)}` };
  return line === expected.result
    ? { kind }
    : { kind, problem: `expected ${JSON.stringify(expected.result)}\n      got ${JSON.stringify(line)}` };
}

describe('line-protocol corpus: encode', () => {
  const cases = readEncodeCases();

  it('reads every encode case, with big integers kept exact', () => {
    expect(cases.length).toBe(115);
    const times = cases.map((c) => c.input.point.time);
    expect(times).toContain(1603976386427072239n);
    expect(times).toContain(-9223372036854775806n);
  });

  for (const c of cases) {
    const label = c.input.about ? `${c.input.key} (${c.input.about})` : c.input.key;
    it.skipIf(NOT_REPRESENTABLE[c.input.key] !== undefined)(label, () => {
      const { problem } = runCase(c);
      expect(problem, `${c.input.key}: ${problem}`).toBeUndefined();
      if (fitsNumbers(c)) {
        const asNumbers = runCase(c, true).problem;
        expect(asNumbers, `${c.input.key} with numbers: ${asNumbers}`).toBeUndefined();
      }
    });
  }

  it('passes every case: exactly, or by meaning where our contract differs', () => {
    const counts = { exact: 0, meaning: 0, skipped: 0, alsoWithNumbers: 0 };
    const problems: string[] = [];
    for (const c of cases) {
      const r = runCase(c);
      if (r.problem !== undefined) problems.push(`${c.input.key}: ${r.problem}`);
      else counts[r.kind]++;
      if (r.kind !== 'skipped' && fitsNumbers(c)) {
        const n = runCase(c, true);
        if (n.problem !== undefined) problems.push(`${c.input.key} with numbers: ${n.problem}`);
        else counts.alsoWithNumbers++;
      }
    }
    expect(problems).toEqual([]);
    // 114 character for character, 1 (the empty tag value) by meaning, none skipped; the 75
    // whose integers all fit a JavaScript number pass again with numbers instead of BigInts.
    expect(counts).toEqual({ exact: 114, meaning: 1, skipped: 0, alsoWithNumbers: 75 });
  });
});

// ---------------------------------------------------------------------------------------------
// Rules, one by one.
// ---------------------------------------------------------------------------------------------

const point = (p: Partial<Point>): Point => ({ measurement: 'cpu', tags: {}, fields: { value: 1 }, ...p });

function errorOf(p: Point): LineProtocolError {
  try {
    encodeLine(p);
  } catch (e) {
    if (e instanceof LineProtocolError) return e;
    throw e;
  }
  throw new Error(
    `expected a LineProtocolError for ${JSON.stringify(p, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
  );
}

describe('encodeLine', () => {
  it('writes measurement, sorted tags, fields in order, and time', () => {
    const line = encodeLine({
      measurement: 'meter_values',
      tags: { device: 'cp-1', kind: 'charger', connector: '2', customer: 'acme', site: 'depot a' },
      fields: { energy_wh: 1234.5, soc: new Int(80), count: new Uint(7), state: 'Charging', on: true },
      time: 1767225600123,
    });
    expect(line).toBe(
      'meter_values,connector=2,customer=acme,device=cp-1,kind=charger,site=depot\\ a ' +
        'energy_wh=1234.5,soc=80i,count=7u,state="Charging",on=true 1767225600123',
    );
  });

  it('leaves out tags that are undefined or empty, and fields that are undefined or null', () => {
    const line = encodeLine(point({ tags: { a: undefined, b: '', c: 'x' }, fields: { u: undefined, n: null, v: 1 } }));
    expect(line).toBe('cpu,c=x v=1');
  });

  it('writes no time when there is none, and bigint or number times exactly', () => {
    expect(encodeLine(point({}))).toBe('cpu value=1');
    expect(encodeLine(point({ time: 0 }))).toBe('cpu value=1 0');
    expect(encodeLine(point({ time: -1 }))).toBe('cpu value=1 -1');
    expect(encodeLine(point({ time: 999_999 }))).toBe('cpu value=1 999999');
    expect(encodeLine(point({ time: 1_000_000 }))).toBe('cpu value=1 1000000');
    expect(encodeLine(point({ time: 1767225600000 }))).toBe('cpu value=1 1767225600000');
    expect(encodeLine(point({ time: 1767225600001 }))).toBe('cpu value=1 1767225600001');
    expect(encodeLine(point({ time: 2 ** 53 + 2 }))).toBe('cpu value=1 9007199254740994');
    expect(encodeLine(point({ time: -(2 ** 62) }))).toBe('cpu value=1 -4611686018427387904');
    expect(encodeLine(point({ time: 9223372036854775807n }))).toBe('cpu value=1 9223372036854775807');
    expect(encodeLine(point({ time: -9223372036854775808n }))).toBe('cpu value=1 -9223372036854775808');
  });

  it('writes integers as i and u, from numbers or bigints', () => {
    const line = encodeLine(
      point({
        fields: {
          a: new Int(0),
          b: new Int(-42),
          c: new Int(1e15),
          d: new Int(-(2 ** 63)),
          e: new Int(9223372036854775807n),
          f: new Uint(0),
          g: new Uint(2 ** 63),
          h: new Uint(18446744073709551615n),
        },
      }),
    );
    expect(line).toBe(
      'cpu a=0i,b=-42i,c=1000000000000000i,d=-9223372036854775808i,e=9223372036854775807i,' +
        'f=0u,g=9223372036854775808u,h=18446744073709551615u',
    );
  });

  it('escapes names and keys, and quotes strings, as the corpus does', () => {
    const line = encodeLine({
      measurement: 'my meas,x=y',
      tags: { 'tag key,=': 'va lue,=\\x' },
      fields: { 'f k,=': 'say "hi" \\ bye\nnext line' },
    });
    expect(line).toBe(
      'my\\ meas\\,x=y,tag\\ key\\,\\==va\\ lue\\,\\=\\x f\\ k\\,\\=="say \\"hi\\" \\\\ bye\nnext line"',
    );
  });

  it('sorts tags in UTF-8 byte order, as InfluxDB does, not UTF-16 order', () => {
    // U+FFFD is EF BF BD in UTF-8, U+1F600 is F0 9F 98 80: U+FFFD first. In UTF-16 (JavaScript's
    // `<`) U+1F600 starts with the surrogate D83D, which sorts before FFFD.
    const line = encodeLine(point({ tags: { '😀': 'a', '\uFFFD': 'b', Z: 'c', a: 'd' } }));
    expect(line).toBe('cpu,Z=c,a=d,\uFFFD=b,😀=a value=1');
  });

  it('re-reads keys and values each time, whatever it remembers from earlier points', () => {
    // Remembered: per measurement, tag and field key orders ("shapes"); escaped tag values.
    const tags: Tags = { device: 'd1', site: 's1' };
    expect(encodeLine(point({ tags }))).toBe('cpu,device=d1,site=s1 value=1');
    tags.site = 's2';
    expect(encodeLine(point({ tags }))).toBe('cpu,device=d1,site=s2 value=1');
    tags.site = 's 2';
    expect(encodeLine(point({ tags }))).toBe('cpu,device=d1,site=s\\ 2 value=1');
    // Different key sets and orders for one measurement, alternating.
    for (let i = 0; i < 3; i++) {
      expect(encodeLine(point({ tags: { a: 'x' } }))).toBe('cpu,a=x value=1');
      expect(encodeLine(point({ tags: { b: 'x' } }))).toBe('cpu,b=x value=1');
      expect(encodeLine(point({ tags: { b: 'y', a: 'x' } }))).toBe('cpu,a=x,b=y value=1');
      expect(encodeLine(point({ tags: { a: 'x', b: 'y', c: 'z' } }))).toBe('cpu,a=x,b=y,c=z value=1');
      expect(encodeLine(point({ tags: { c: 'z', b: 'y', a: 'x', d: 'w', e: 'v' } }))).toBe(
        'cpu,a=x,b=y,c=z,d=w,e=v value=1',
      );
      expect(encodeLine(point({ fields: { x: 1, y: 2 } }))).toBe('cpu x=1,y=2');
      expect(encodeLine(point({ fields: { y: 2, x: 1 } }))).toBe('cpu y=2,x=1');
      expect(encodeLine(point({ fields: { x: 1 } }))).toBe('cpu x=1');
      expect(encodeLine(point({ fields: { x: null, y: 2, z: true } }))).toBe('cpu y=2,z=true');
    }
  });

  it('stays right when its caches fill up and are cleared', () => {
    // Past the caps (10,000 measurements, keys, escaped values): every name is new.
    for (let i = 0; i < 10_100; i++) {
      const line = encodeLine({
        measurement: `m${i}`,
        tags: { [`t${i}`]: `v ${i}`, device: `d${i % 7}` },
        fields: { [`f${i}`]: i, x: true },
        time: i,
      });
      expect(line).toBe(`m${i},device=d${i % 7},t${i}=v\\ ${i} f${i}=${i},x=true ${i}`);
    }
    expect(encodeLine(point({ tags: { a: 'x y' } }))).toBe('cpu,a=x\\ y value=1');
  });

  it('accepts a key it cannot write when the point gives it no value', () => {
    expect(encodeLine(point({ tags: { '': undefined, 'bad\n': '', ok: 'x' } }))).toBe('cpu,ok=x value=1');
    expect(encodeLine(point({ fields: { 'bad\n': null, '': undefined, ok: 1 } }))).toBe('cpu ok=1');
    expect(() => encodeLine(point({ fields: { 'bad\n': 1 } }))).toThrow(/field key "bad\\n" of "cpu" holds a newline/);
  });

  describe('floats, as Go writes them (the corpus reference)', () => {
    it.each([
      [1, '1'],
      [42, '42'],
      [-0.64, '-0.64'],
      [12.123, '12.123'],
      [0.1 + 0.2, '0.30000000000000004'],
      [0.0001, '0.0001'],
      [0.00012345, '0.00012345'],
      [999999.9999999999, '999999.9999999999'],
      [123456.7, '123456.7'],
      [1e6, '1e+06'],
      [6632243, '6.632243e+06'],
      [1234567.8, '1.2345678e+06'],
      [1e21, '1e+21'],
      [-1e100, '-1e+100'],
      [0.00001, '1e-05'],
      [1.5e-7, '1.5e-07'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [0, '0'],
      [-0, '-0'],
      [-1234567.89, '-1.23456789e+06'],
      [123456789012.5, '1.234567890125e+11'],
      [999999999999.999, '9.99999999999999e+11'],
      [1e12, '1e+12'],
      [1234567.0001, '1.2345670001e+06'],
      [6632000, '6.632e+06'],
      [57.38847584938475, '57.38847584938475'],
      [0.12345678901234, '0.12345678901234'],
      [0.000123456789, '0.000123456789'],
    ])('%s -> %s', (v, text) => {
      expect(formatFloatValue(v)).toBe(text);
      expect(Object.is(Number(text), v)).toBe(true);
    });

    it('round-trips every double, in plain notation exactly where Go uses it', () => {
      fc.assert(
        fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
          const text = formatFloatValue(v);
          expect(Object.is(Number(text), v)).toBe(true);
          const a = Math.abs(v);
          if (a >= 1e-4 && a < 1e6) {
            expect(text).toBe(String(v));
          } else if (v !== 0) {
            // Same shortest digits as JavaScript's, Go's exponent form (two digits at least).
            const [mantissa, exponent] = v.toExponential().split('e') as [string, string];
            const sign = exponent[0];
            const digits = exponent.slice(1).padStart(2, '0');
            expect(text).toBe(`${mantissa}e${sign}${digits}`);
          }
        }),
        { numRuns: 5000 },
      );
    });

    it('agrees with String() and Go on readings with few decimals, small and large', () => {
      const go = (v: number) => {
        const [mantissa, exponent] = v.toExponential().split('e') as [string, string];
        return `${mantissa}e${exponent[0]}${exponent.slice(1).padStart(2, '0')}`;
      };
      fc.assert(
        fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.integer({ min: 0, max: 9 }), (m, k) => {
          const v = Number(m) / 10 ** k;
          const a = Math.abs(v);
          const text = formatFloatValue(v);
          if (a >= 1e-4 && a < 1e6) expect(text).toBe(String(v));
          else if (a !== 0) expect(text).toBe(go(v));
          expect(Object.is(Number(text), v)).toBe(true);
        }),
        { numRuns: 10000 },
      );
    });
  });

  describe('refuses what cannot be written, naming the measurement and key', () => {
    it.each<[string, Point, RegExp]>([
      ['NaN', point({ fields: { x: NaN } }), /field "x" of "cpu" is NaN: InfluxDB cannot store NaN or Infinity/],
      ['Infinity', point({ fields: { x: Infinity } }), /field "x" of "cpu" is Infinity/],
      ['-Infinity', point({ fields: { x: -Infinity } }), /field "x" of "cpu" is -Infinity/],
      ['no fields', point({ fields: {} }), /point "cpu" has no fields/],
      ['only null fields', point({ fields: { a: null, b: undefined } }), /point "cpu" has no fields/],
      ['empty measurement', point({ measurement: '' }), /measurement "" is empty/],
      ['empty tag key', point({ tags: { '': 'x' } }), /tag key "" of "cpu" is empty/],
      ['empty field key', point({ fields: { '': 1 } }), /field key "" of "cpu" is empty/],
      ['newline in a tag value', point({ tags: { site: 'a\nb' } }), /tag "site" of "cpu": the value holds a newline/],
      ['newline in a tag key', point({ tags: { 'si\nte': 'a' } }), /tag key "si\\nte" of "cpu" holds a newline/],
      ['newline in a field key', point({ fields: { 'a\nb': 1 } }), /field key "a\\nb" of "cpu" holds a newline/],
      ['newline in the measurement', point({ measurement: 'cp\nu' }), /measurement "cp\\nu" holds a newline/],
      ['carriage return', point({ tags: { site: 'a\rb' } }), /holds a carriage return/],
      ['control character', point({ tags: { site: 'a\tb' } }), /holds control character U\+0009/],
      [
        'trailing backslash in a tag value',
        point({ tags: { site: 'c:\\' } }),
        /tag "site" of "cpu": the value ends with a backslash/,
      ],
      [
        'trailing backslash in a field key',
        point({ fields: { 'k\\': 1 } }),
        /field key "k\\\\" of "cpu" ends with a backslash/,
      ],
      [
        'trailing backslash in the measurement',
        point({ measurement: 'cpu\\' }),
        /measurement "cpu\\\\" ends with a backslash/,
      ],
      ['measurement read as a comment', point({ measurement: '#cpu' }), /starts with "#"/],
      ['unpaired surrogate in a tag', point({ tags: { site: 'a\ud800' } }), /unpaired surrogate U\+D800/],
      [
        'unpaired surrogate in a string',
        point({ fields: { s: '\udc00x' } }),
        /field "s" of "cpu" holds an unpaired surrogate/,
      ],
      ['non-string tag value', point({ tags: { n: 5 as unknown as string } }), /tag "n" of "cpu" is a number/],
      ['fractional Int', point({ fields: { n: new Int(1.5) } }), /field "n" of "cpu" is Int\(1.5\)/],
      ['Int beyond int64', point({ fields: { n: new Int(2 ** 63) } }), /field "n" of "cpu" is Int/],
      ['bigint Int beyond int64', point({ fields: { n: new Int(2n ** 63n) } }), /int64 range/],
      ['negative Uint', point({ fields: { n: new Uint(-1) } }), /field "n" of "cpu" is Uint\(-1\)/],
      ['Uint beyond uint64', point({ fields: { n: new Uint(2n ** 64n) } }), /from 0 to 2\^64-1/],
      ['fractional Uint', point({ fields: { n: new Uint(0.5) } }), /is Uint\(0.5\)/],
      [
        'unmarked bigint field',
        point({ fields: { n: 5n as unknown as FieldValue } }),
        /field "n" of "cpu" is bigint 5/,
      ],
      ['fractional time', point({ time: 1.5 }), /time of "cpu" is 1.5/],
      ['NaN time', point({ time: NaN }), /time of "cpu" is NaN/],
      ['time beyond int64', point({ time: 2n ** 63n }), /int64 range/],
    ])('%s', (_, p, message) => {
      const error = errorOf(p);
      expect(error.message).toMatch(message);
      expect(error.measurement).toBe(p.measurement);
    });

    it('refuses a point without a measurement', () => {
      for (const measurement of [undefined, null, 42]) {
        const bad = { measurement, tags: {}, fields: { x: 1 } } as unknown as Point;
        expect(() => encodeLine(bad)).toThrow(LineProtocolError);
        expect(() => encodeLine(bad)).toThrow(/measurement must be a string, got /);
      }
    });

    it('keeps working after an error', () => {
      expect(() => encodeLine(point({ tags: { site: 'bad\n' } }))).toThrow(LineProtocolError);
      expect(encodeLine(point({ tags: { site: 'good' } }))).toBe('cpu,site=good value=1');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests: whatever we write, a line-protocol reader reads back as the same point.
// ---------------------------------------------------------------------------------------------

type Decoded = { measurement: string; tags: [string, string][]; fields: [string, FieldValue][]; time?: bigint };

/**
 * A small line-protocol reader, written from the spec, independent of the encoder. A backslash
 * escapes only the characters that need it in that position (`,` and space in the measurement;
 * `,`, `=` and space in keys and tag values; `"` and `\` in strings); elsewhere it is literal, as
 * InfluxDB reads it.
 */
function decodeLine(line: string): Decoded {
  let i = 0;
  const readName = (special: string, stops: string): string => {
    let out = '';
    while (i < line.length && !stops.includes(line[i])) {
      if (line[i] === '\\' && i + 1 < line.length && special.includes(line[i + 1])) {
        out += line[i + 1];
        i += 2;
      } else {
        out += line[i++];
      }
    }
    return out;
  };
  const expect = (c: string) => {
    if (line[i] !== c) throw new Error(`expected ${JSON.stringify(c)} at ${i} of ${JSON.stringify(line)}`);
    i++;
  };
  const measurement = readName(', ', ', ');
  const tags: [string, string][] = [];
  while (line[i] === ',') {
    i++;
    const key = readName(',= ', '=');
    expect('=');
    tags.push([key, readName(',= ', ', ')]);
  }
  expect(' ');
  const fields: [string, FieldValue][] = [];
  for (;;) {
    const key = readName(',= ', '=');
    expect('=');
    let value: FieldValue;
    if (line[i] === '"') {
      i++;
      let s = '';
      while (line[i] !== '"') {
        if (i >= line.length) throw new Error(`unterminated string in ${JSON.stringify(line)}`);
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          s += line[i + 1];
          i += 2;
        } else {
          s += line[i++];
        }
      }
      i++;
      value = s;
    } else {
      const start = i;
      while (i < line.length && line[i] !== ',' && line[i] !== ' ') i++;
      const raw = line.slice(start, i);
      if (/^-?\d+i$/.test(raw)) value = new Int(BigInt(raw.slice(0, -1)));
      else if (/^\d+u$/.test(raw)) value = new Uint(BigInt(raw.slice(0, -1)));
      else if (/^(t|T|true|True|TRUE)$/.test(raw)) value = true;
      else if (/^(f|F|false|False|FALSE)$/.test(raw)) value = false;
      else if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) value = Number(raw);
      else throw new Error(`bad field value ${JSON.stringify(raw)} in ${JSON.stringify(line)}`);
    }
    fields.push([key, value]);
    if (line[i] !== ',') break;
    i++;
  }
  let time: bigint | undefined;
  if (i < line.length) {
    expect(' ');
    const raw = line.slice(i);
    if (!/^-?\d+$/.test(raw)) throw new Error(`bad time ${JSON.stringify(raw)} in ${JSON.stringify(line)}`);
    time = BigInt(raw);
    i = line.length;
  }
  return { measurement, tags, fields, ...(time !== undefined ? { time } : {}) };
}

/** Characters that stress the escaping rules, plus multi-byte ones. */
const TRICKY = [
  ',',
  ' ',
  '=',
  '"',
  '\\',
  '#',
  'é',
  'ß',
  '日',
  '本',
  '😀',
  '\u00a0',
  '\uFFFD',
  'a',
  'b',
  'Z',
  '_',
  '0',
  '9',
  'i',
];
const trickyChar = fc.oneof(fc.constantFrom(...TRICKY), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }));
/** Names, keys, tag values: anything writable (no control characters, no trailing backslash). */
const name = fc
  .string({ unit: trickyChar, minLength: 1, maxLength: 12 })
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this replaces
  .map((s) => s.replace(/[\u0000-\u001f\u007f]/g, '_'))
  .filter((s) => s.length > 0 && !s.endsWith('\\'));
const measurementName = name.filter((s) => !s.startsWith('#'));
/** String field values may hold anything but unpaired surrogates, newlines included. */
const stringValue = fc.string({ unit: fc.oneof(trickyChar, fc.constantFrom('\n', '\r', '\t')), maxLength: 20 });
const fieldValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1000, max: 1000 }).map((n) => n / 100),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => new Int(n)),
  fc.maxSafeInteger().map((n) => new Int(n)),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => new Uint(n)),
  fc.maxSafeNat().map((n) => new Uint(n)),
  stringValue,
  fc.boolean(),
);
const randomPoint: fc.Arbitrary<Point> = fc.record(
  {
    measurement: measurementName,
    tags: fc
      .uniqueArray(fc.tuple(name, name), { selector: ([k]) => k, maxLength: 6 })
      .map((e) => Object.fromEntries(e)),
    fields: fc
      .uniqueArray(fc.tuple(name, fieldValue), { selector: ([k]) => k, minLength: 1, maxLength: 6 })
      .map((e) => Object.fromEntries(e)),
    time: fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
  },
  { requiredKeys: ['measurement', 'tags', 'fields'] },
);

const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const normalise = (v: FieldValue): unknown =>
  v instanceof Int ? { int: BigInt(v.value) } : v instanceof Uint ? { uint: BigInt(v.value) } : v;

describe('encodeLine, property tests', () => {
  it('writes lines that read back as the same point', () => {
    fc.assert(
      fc.property(randomPoint, (p) => {
        const line = encodeLine(p);
        const d = decodeLine(line);
        expect(d.measurement).toBe(p.measurement);
        const tags = Object.entries(p.tags).sort(([a], [b]) => utf8Order(a, b));
        expect(d.tags).toEqual(tags);
        expect(d.fields.map(([k, v]) => [k, normalise(v)])).toEqual(
          Object.entries(p.fields).map(([k, v]) => [k, normalise(v as FieldValue)]),
        );
        for (const [k, v] of Object.entries(p.fields)) {
          if (typeof v === 'number') expect(Object.is(d.fields.find(([dk]) => dk === k)![1], v)).toBe(true);
        }
        expect(d.time).toBe(p.time === undefined ? undefined : BigInt(p.time));
      }),
      { numRuns: 3000 },
    );
  });

  it('writes the same line for the same point, however often and in whatever tag order', () => {
    fc.assert(
      fc.property(randomPoint, (p) => {
        const first = encodeLine(p);
        const reversed = Object.fromEntries(Object.entries(p.tags).reverse());
        expect(encodeLine({ ...p, tags: reversed })).toBe(first);
        expect(encodeLine(p)).toBe(first);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses NaN and Infinity in any field, naming it', () => {
    fc.assert(
      fc.property(randomPoint, name, fc.constantFrom(NaN, Infinity, -Infinity), (p, key, bad) => {
        const fields = { ...p.fields, [key]: bad };
        const error = errorOf({ ...p, fields });
        expect(error.message).toContain(`field ${JSON.stringify(key)} of ${JSON.stringify(p.measurement)} is`);
        expect(error.message).toContain('InfluxDB cannot store NaN or Infinity');
        expect(error.key).toBe(key);
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Byte for byte against a straightforward encoder: the fast paths (char-code scans, shape and
// prefix caches, digit tables) must write exactly what the rules say, character for character.
// ---------------------------------------------------------------------------------------------

/** Thrown by `referenceLine` where the encoder must throw a `LineProtocolError`. */
class Unwritable extends Error {}

/** A name, key or tag value escaped the plain way: a backslash before each of `specials`. */
function referenceName(s: string, specials: RegExp): string {
  if (s === '') throw new Unwritable('empty');
  // eslint-disable-next-line no-control-regex -- control characters are what cannot be written
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new Unwritable('control character');
  if (s.endsWith('\\')) throw new Unwritable('trailing backslash');
  referenceWellFormed(s);
  return s.replace(specials, '\\$&');
}

function referenceWellFormed(s: string): void {
  try {
    encodeURIComponent(s); // throws URIError on an unpaired surrogate
  } catch {
    throw new Unwritable('unpaired surrogate');
  }
}

/** The line for `p` by the rules in line-protocol.ts's header, one step at a time. */
function referenceLine(p: Point): string {
  if (p.measurement.startsWith('#')) throw new Unwritable('comment');
  let line = referenceName(p.measurement, /[, ]/g);
  const tags = Object.entries(p.tags).filter(([, v]) => v !== undefined && v !== '') as [string, string][];
  tags.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const [k, v] of tags) line += `,${referenceName(k, /[,= ]/g)}=${referenceName(v, /[,= ]/g)}`;
  const fields: string[] = [];
  for (const [k, v] of Object.entries(p.fields)) {
    if (v === undefined || v === null) continue;
    let text: string;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Unwritable('not finite');
      text = formatFloatValue(v); // the float text has its own tests above (Go, String())
    } else if (typeof v === 'string') {
      referenceWellFormed(v);
      text = `"${v.replace(/["\\]/g, '\\$&')}"`;
    } else if (typeof v === 'boolean') text = String(v);
    else text = `${BigInt(v.value)}${v instanceof Int ? 'i' : 'u'}`;
    fields.push(`${referenceName(k, /[,= ]/g)}=${text}`);
  }
  if (fields.length === 0) throw new Unwritable('no fields');
  line += ' ' + fields.join(',');
  return p.time === undefined ? line : `${line} ${BigInt(p.time)}`;
}

/** Hostile characters: every escape, quotes, backslashes, unicode; now and then a control character. */
const HOSTILE = [',', ' ', '=', '"', '\\', '#', 'é', '日', '😀', '\uFFFD', 'a', 'Z', '0', '_'];
const hostileChar = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\t', '\u007f') },
);
const hostileText = fc.string({ unit: hostileChar, maxLength: 10 }).chain((s) =>
  // Mostly plain values, as devices send, so that the fast paths are the ones taken.
  fc.constantFrom(s, s, 'plain', 'cust-001', 'TC-200R', `v2.${s.length}.0`),
);
/** A small pool of keys and measurements, so that points share shapes and the caches are hit. */
const sometimes = <T>(writable: T[], not: T[]) =>
  fc.oneof({ weight: 30, arbitrary: fc.constantFrom(...writable) }, { weight: 1, arbitrary: fc.constantFrom(...not) });
const hostileKey = sometimes(
  ['device', 'kind', 'site', 'a b', 'a,b', 'a=b', 'é', '日本', '\\x', 'x\\y'],
  ['x\\', 'n\n'],
);
const hostileMeasurement = sometimes(['meter_values', 'host metrics', 'a,b', 'x=y', 'é', 'a#'], ['#c', 'm\\']);
const hostileField: fc.Arbitrary<FieldValue | undefined> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: 0, max: 5e7 }).map((n) => n / 10),
  fc.integer({ min: -5e11, max: 5e11 }).map((n) => new Int(n)),
  fc.integer({ min: 0, max: 999 }).map((n) => new Int(n)),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => new Uint(n)),
  hostileText,
  fc.boolean(),
  fc.constant(undefined),
);
const hostilePoint: fc.Arbitrary<Point> = fc.record(
  {
    measurement: hostileMeasurement,
    tags: fc.dictionary(hostileKey, fc.oneof(hostileText, fc.constant(undefined)), { maxKeys: 6 }),
    fields: fc.dictionary(hostileKey, hostileField, { minKeys: 0, maxKeys: 5 }),
    time: fc.oneof(fc.integer({ min: 1_767_225_600_000, max: 1_767_225_700_000 }), fc.maxSafeInteger()),
  },
  { requiredKeys: ['measurement', 'tags', 'fields'] },
);

describe('encodeLine, against a straightforward encoder', () => {
  it('writes every point byte for byte as the reference does, or refuses it where the reference cannot write it', () => {
    let written = 0;
    let refused = 0;
    fc.assert(
      // Runs of points, one after the other, as a plugin emits them: each point meets the shapes
      // and caches its predecessors left.
      fc.property(fc.array(hostilePoint, { minLength: 1, maxLength: 30 }), (points) => {
        for (const p of points) {
          let expected: string | Unwritable;
          try {
            expected = referenceLine(p);
          } catch (err) {
            if (!(err instanceof Unwritable)) throw err;
            expected = err;
          }
          if (expected instanceof Unwritable) {
            expect(() => encodeLine(p), `${expected.message}: ${fc.stringify(p)}`).toThrow(LineProtocolError);
            refused++;
          } else {
            expect(encodeLine(p)).toBe(expected);
            written++;
          }
        }
      }),
      { numRuns: 800 },
    );
    // Both outcomes were exercised, and mostly writable points.
    expect(written).toBeGreaterThan(refused);
    expect(refused).toBeGreaterThan(0);
  });
});
