/**
 * Integers as decimal text from digit tables, for the line-protocol encoder (ints, uints,
 * timestamps) and the float formatter (go-float.ts). Each helper appends to `line` rather than
 * returning a piece to join: the encoder builds a line by concatenation.
 */
export const SAFE_LIMIT = 9007199254740992; // 2^53
/** DIGITS[n] is `String(n)` and DIGITS3[n] the same padded to three digits, for n < 1000. */
export const DIGITS: string[] = [];
export const DIGITS3: string[] = [];
for (let n = 0; n < 1000; n++) {
  DIGITS.push(String(n));
  DIGITS3.push(String(n).padStart(3, '0'));
}

/**
 * `line` + the decimal text of an integer 0 <= a < 2^53, from the digit tables. `String(a)`
 * would be as correct, but V8 prints a non-small integer (a millisecond timestamp) like any
 * double, ~8x slower, and remembers every number it prints in a cache that makes each
 * young-generation GC slower.
 */
export function appendUint(line: string, a: number): string {
  if (a < 1000) return line + DIGITS[a];
  const high = Math.floor(a / 1000);
  return appendUint(line, high) + DIGITS3[a - high * 1000];
}

/** `line` + the decimal text of an integer-valued number in int64/uint64 range. */
export function appendIntegerNumber(line: string, v: number): string {
  if (v >= 0) return v < SAFE_LIMIT ? appendUint(line, v) : line + BigInt(v).toString();
  return v > -SAFE_LIMIT ? appendUint(line + '-', -v) : line + BigInt(v).toString();
}
