import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareUtf8 } from './utf8-order.ts';

describe('compareUtf8', () => {
  it('orders strings as their UTF-8 bytes compare (InfluxDB tag key order, SQLite BINARY)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(compareUtf8(a, b)).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
    );
    expect(compareUtf8('～', '😀')).toBe(-1); // '～' < '😀' in UTF-8; JavaScript's < says the opposite
    expect(compareUtf8('a', 'ab')).toBe(-1);
    expect(compareUtf8('tag', 'tag')).toBe(0);
  });
});
