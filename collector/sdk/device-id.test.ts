import { describe, expect, it } from 'vitest';
import { encodeLine } from '../pipeline/line-protocol.ts';
import { deviceIdProblem } from './device-id.ts';

describe('deviceIdProblem', () => {
  it('accepts serial numbers and OCPP identities, each encodable as a device tag', () => {
    for (const id of [
      'TC200-00042',
      'CP_001',
      'charger.lyon.7',
      'pos@store-12',
      'A',
      'x'.repeat(64),
      'EVB-P1234567=*|+',
    ]) {
      expect(deviceIdProblem(id), id).toBeUndefined();
      expect(() => encodeLine({ measurement: 'm', tags: { device: id }, fields: { v: 1 }, time: 1 })).not.toThrow();
    }
  });

  it('refuses, with the reason, what the encoder cannot carry and what is too long', () => {
    expect(deviceIdProblem('')).toMatch(/empty/);
    expect(deviceIdProblem('x'.repeat(65))).toMatch(/longer than 64/);
    expect(deviceIdProblem('CP-1\\')).toMatch(/ends with a backslash/);
    expect(deviceIdProblem('CP-1\n')).toMatch(/control character/);
    expect(deviceIdProblem('CP\x00')).toMatch(/control character/);
    expect(deviceIdProblem('CP\x7f')).toMatch(/control character/);
    expect(deviceIdProblem('a b')).toMatch(/only letters, digits/);
    expect(deviceIdProblem('-lead')).toMatch(/starting with a letter or digit/);
    expect(deviceIdProblem('a/b')).toMatch(/only letters/);
    expect(deviceIdProblem('\ud800')).toMatch(/only letters/);
  });
});
