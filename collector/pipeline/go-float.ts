/**
 * Floats as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes them, the text InfluxDB's own
 * encoder and the line-protocol conformance corpus use; appended to `line` (line-protocol.ts).
 * The common cases are built from small integers and digit tables: V8 prints a fractional double
 * ~8x slower than a small integer and caches every number it prints, which GC then has to copy.
 */
import { appendUint, DIGITS, DIGITS3 } from './digits.ts';

/**
 * A float as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it (the corpus's reference).
 * Inside [1e-4, 1e6) that is exactly JavaScript's `String(v)`: both give the shortest digits that
 * round-trip, in plain notation. Outside it Go uses exponent notation with two exponent digits at
 * least (`6.632243e+06`, `1e-05`), where JavaScript would write `6632243` or `0.00001`.
 * `undefined` for NaN and ±Infinity, which have no line-protocol form.
 */
export function appendFloat(line: string, v: number): string | undefined {
  const a = v < 0 ? -v : v;
  if (a >= 1e-4 && a < 1e6) return appendDecimal(v < 0 ? line + '-' : line, a);
  if (a >= 1e6 && a < 1e12) {
    const large = appendLarge(v < 0 ? line + '-' : line, a);
    if (large !== undefined) return large;
  }
  if (v === 0) return line + (1 / v < 0 ? '-0' : '0');
  if (v - v !== 0) return undefined; // NaN or ±Infinity: the caller says why it cannot be written
  const s = v.toExponential(); // shortest round-trip digits, e.g. 6.632243e+6
  const e = s.indexOf('e');
  return s.length - e === 3 ? line + s.slice(0, e + 2) + '0' + s.slice(e + 2) : line + s;
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
/** FRACTIONS[k][f]: `.` and f written with k digits, for k <= 3 (most readings have few decimals). */
const FRACTIONS: string[][] = [[''], [], [], []];
for (let k = 1; k <= 3; k++) {
  for (let f = 0; f < POW10[k]; f++) FRACTIONS[k].push('.' + String(f).padStart(k, '0'));
}
/** SHORT_FRACTIONS[f]: `.` and f/1000 with its trailing zeros dropped (`.5`, `.25`, `.125`). */
const SHORT_FRACTIONS: string[] = [''];
for (let f = 1; f < 1000; f++) SHORT_FRACTIONS.push(('.' + String(f).padStart(3, '0')).replace(/0+$/, ''));
/** `0.`, `0.0`, ... for plain numbers below 1 whose first digit is 1, 2, ... places after the dot. */
const ZERO_POINT = ['0.', '0.0', '0.00', '0.000'];
/** Go's exponents for 1e6 <= a < 1e12. */
const LARGE_EXPONENTS = ['e+06', 'e+07', 'e+08', 'e+09', 'e+10', 'e+11'];

/*
 * Most readings have few decimals. Below 1e6, a double's rounding interval is far narrower than
 * 10^-6, so at most one decimal with six places or fewer parses to `a`, and if there is one it is
 * D = round(a·10^6) / 10^6 (the product is exact to well within 0.5). The division and parsing
 * both round correctly, so D parses to `a` exactly when that division gives `a` back. D without
 * its trailing zeros is then the shortest text that round-trips: what `String(a)` and Go print.
 * Its digits come from small integers and tables instead of V8's slower double printing.
 */

/** `line` + `String(a)`, for 1e-4 <= a < 1e6. */
function appendDecimal(line: string, a: number): string {
  const whole = Math.floor(a);
  if (whole === a) return appendUint(line, a);
  const scaled = Math.round(a * 1e6);
  if (scaled / 1e6 === a) {
    // `a` is not an integer, so 0 < fraction < 10^6: small-integer arithmetic from here.
    let fraction = (scaled - whole * 1e6) | 0;
    const thousandths = (fraction / 1000) | 0;
    if (thousandths * 1000 === fraction) return appendUint(line, whole) + SHORT_FRACTIONS[thousandths];
    let decimals = 6;
    while (fraction % 10 === 0) {
      fraction = (fraction / 10) | 0;
      decimals--;
    }
    return appendFraction(appendUint(line, whole), fraction, decimals);
  }
  // More decimals: V8's shortest digits, from toExponential (String(a) is slower, and V8 caches
  // each number it prints, which makes every young-generation GC copy those strings). `a` is not
  // an integer, so the digits before the dot are those of floor(a). (Finding the 15 or 16 digits
  // exactly with Dekker's product was tried: printing that many digits from tables costs as much.)
  const s = a.toExponential(); // d.ddde+x or d.ddde-x, x a single digit here
  const e = s.indexOf('e');
  if (s.charCodeAt(e + 1) === 0x2d) {
    return line + ZERO_POINT[s.charCodeAt(e + 2) - 49] + s.charAt(0) + (e > 1 ? s.slice(2, e) : '');
  }
  return appendUint(line, whole) + '.' + s.slice(s.charCodeAt(e + 2) - 46, e);
}

/**
 * `line` + Go's `d.ddde+XX` for 1e6 <= a < 1e12 with at most three decimals, else `undefined`.
 * (Below 1e12, 10^-3 is still 8 times wider than a's rounding interval: the reasoning above holds.)
 */
function appendLarge(line: string, a: number): string | undefined {
  let m = Math.round(a * 1000);
  if (m / 1000 !== a) return undefined;
  // m is beyond small integers: strip zeros with exact float division, not the slow float `%`.
  let digits = 10;
  while (digits < 15 && m >= POW10[digits]) digits++;
  let decimals = 3;
  let tenth = Math.floor(m / 10);
  while (decimals > 0 && tenth * 10 === m) {
    m = tenth;
    tenth = Math.floor(m / 10);
    decimals--;
    digits--;
  }
  const exponent = digits - decimals - 1;
  while (tenth * 10 === m) {
    m = tenth;
    tenth = Math.floor(m / 10);
    digits--;
  }
  const scale = POW10[digits - 1];
  const first = Math.floor(m / scale);
  line += DIGITS[first];
  if (digits > 1) line = appendFraction(line, m - first * scale, digits - 1);
  return line + LARGE_EXPONENTS[exponent - 6];
}

/** `line` + `.` + 0 <= f < 10^k written with exactly k digits. */
function appendFraction(line: string, f: number, k: number): string {
  if (k <= 3) return line + FRACTIONS[k][f];
  const high = Math.floor(f / 1000);
  return appendFraction(line, high, k - 3) + DIGITS3[f - high * 1000];
}
