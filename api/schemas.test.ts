import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ms } from './schemas.ts';

describe('ms (epoch ms → ISO 8601)', () => {
  it('writes exactly what Date#toISOString writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_000_000_000_000, max: 300_000_000_000_000 }), (t) => {
        expect(ms(t)).toBe(new Date(t).toISOString());
      }),
      { numRuns: 20_000 },
    );
    for (const t of [0, 951_782_400_000, 4_107_542_399_999, 253_402_300_799_999, 1_709_164_800_000, 1.5]) {
      expect(ms(t)).toBe(new Date(t).toISOString());
    }
    expect(ms(null)).toBeNull();
  });
});
