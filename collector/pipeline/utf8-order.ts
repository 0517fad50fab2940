/**
 * Compares strings in the order of their UTF-8 bytes, which is code point order: the order
 * InfluxDB sorts tag keys in and SQLite's BINARY collation. JavaScript's `<` compares UTF-16
 * units, which puts U+10000 and up (surrogate pairs) before U+E000–U+FFFF; so at the first
 * differing unit, surrogates are ranked above the units they would otherwise precede.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length < b.length ? -1 : 1;
  return codePointRank(a.charCodeAt(i)) < codePointRank(b.charCodeAt(i)) ? -1 : 1;
}

function codePointRank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit;
}
