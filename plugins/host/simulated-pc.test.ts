import { describe, expect, it } from 'vitest';
import { measurements } from './measurements.ts';
import { hostLines } from './simulated-pc.ts';

/** The fields of one line (no strings or escapes in host lines), as written. */
function fieldsOf(line: string): { measurement: string; fields: Map<string, string> } {
  const [head, fields] = line.split(' ');
  return {
    measurement: head.split(',')[0],
    fields: new Map(fields.split(',').map((f) => f.split('=') as [string, string])),
  };
}

describe('simulated PC lines', () => {
  it('write every declared integer field as an integer and every float without the i suffix', () => {
    // Odd times: a counter derived by halving the time must still be whole.
    for (const t of [1_733_500_000_001, 1_733_500_295_089, 1_733_500_000_777]) {
      for (const line of hostLines('PC-1', t, 7)) {
        const { measurement, fields } = fieldsOf(line);
        const spec = measurements.find((m) => m.name === measurement)!;
        expect(spec, line).toBeDefined();
        for (const [key, value] of fields) {
          const type = (spec.fields as Record<string, { type: string } | undefined>)[key]?.type;
          if (type === 'int') expect(value, `${key} in ${line}`).toMatch(/^-?\d+i$/);
          else expect(value, `${key} in ${line}`).toMatch(/^-?\d+(\.\d+)?$/);
        }
      }
    }
  });
});
