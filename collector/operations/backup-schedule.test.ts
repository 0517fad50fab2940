import { describe, expect, it } from 'vitest';
import { nextDailyRun } from './backup-schedule.ts';

describe('daily backup time', () => {
  it('is the next time the zone shows HH:MM: later today, else tomorrow', () => {
    const before = Date.parse('2026-12-07T01:00:00Z'); // 02:00 in Berlin
    expect(new Date(nextDailyRun(before, '03:30', 'Europe/Berlin')).toISOString()).toBe('2026-12-07T02:30:00.000Z');
    const after = Date.parse('2026-12-07T03:00:00Z');
    expect(new Date(nextDailyRun(after, '03:30', 'Europe/Berlin')).toISOString()).toBe('2026-12-08T02:30:00.000Z');
    // Exactly at the time: the run that is due now has been taken; the next is tomorrow.
    expect(new Date(nextDailyRun(Date.parse('2026-12-07T02:30:00Z'), '03:30', 'Europe/Berlin')).toISOString()).toBe(
      '2026-12-08T02:30:00.000Z',
    );
  });

  it('follows daylight saving: a skipped local time runs after the gap, the same day', () => {
    // 2027-03-28: Berlin's clocks jump from 02:00 to 03:00.
    const night = Date.parse('2027-03-27T23:00:00Z');
    expect(new Date(nextDailyRun(night, '02:30', 'Europe/Berlin')).toISOString()).toBe('2027-03-28T01:30:00.000Z');
    expect(new Date(nextDailyRun(night, '04:00', 'Europe/Berlin')).toISOString()).toBe('2027-03-28T02:00:00.000Z');
  });
});
