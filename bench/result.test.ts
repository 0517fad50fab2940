import { describe, expect, it } from 'vitest';
import { figure, verdict, type Result } from './result.ts';

const row = (over: Partial<Result>): Result => ({ name: 'x', ours: 1, reference: 1, ratio: 1, ...over });

describe('bench verdicts', () => {
  it('compare the unrounded ratio: 0.795 misses a 0.8 floor though it would print as 0.80', () => {
    const r = row({ ratio: 0.795, goals: [{ on: 'ratio', atLeast: 0.8 }] });
    expect(verdict(r)).toBe('ratio >= 0.8x MISSES');
    expect(verdict({ ...r, ratio: 0.8 })).toBe('ratio >= 0.8x meets');
  });

  it('put every goal, absolute ones included, in the verdict', () => {
    const r = row({
      ours: 97_000,
      ratio: 0.85,
      goals: [
        { on: 'ratio', atLeast: 0.8 },
        { on: 'ours', atLeast: 100_000 },
      ],
    });
    expect(verdict(r)).toBe('ratio >= 0.8x meets; ours >= 100,000 points/s MISSES');
  });

  it('take a ceiling on our own figure in its unit', () => {
    const r = row({ ours: 20.04, unit: 'ms p99', goals: [{ on: 'ours', atMost: 20 }] });
    expect(verdict(r)).toBe('ours <= 20 ms p99 MISSES');
    expect(verdict({ ...r, ours: 19.99 })).toBe('ours <= 20 ms p99 meets');
  });

  it('say when a figure has no goal', () => {
    expect(verdict(row({}))).toBe('no goal');
  });

  it('print whole numbers from 100 up and three significant digits below', () => {
    expect(figure(246_912.4)).toBe('246,912');
    expect(figure(0.7951)).toBe('0.795');
    expect(figure(16.93)).toBe('16.9');
  });
});
