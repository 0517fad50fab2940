import { describe, expect, it } from 'vitest';
import { priceSession, type NamedTariff } from './tariff.ts';

/**
 * Session prices under named tariffs with bands. 2026-12-07 is a Monday; Berlin is UTC+1 then, so
 * 16:00Z is the 17:00 local edge of the peak band. The expected figures are worked out by hand
 * from the bands in each comment.
 */
const z = (iso: string) => Date.parse(iso);
const peak: NamedTariff = {
  name: 'peak',
  currency: 'EUR',
  energy_per_kwh: 0.2,
  time_per_min: 0,
  parking_per_min: 0.1,
  fixed_fee: 0.5,
  tax_pct: 20,
  bands: [
    { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '17:00', to: '21:00', energy_per_kwh: 0.4, time_per_min: 0.05 },
  ],
};
// 0 Wh at 16:30 local, 5 kWh at the 17:00 edge, 9 kWh at 17:30, stopped at 17:45 (15 min full).
const readings = (day: string) => [
  { at: z(`${day}T15:30:00Z`), wh: 0 },
  { at: z(`${day}T16:00:00Z`), wh: 5000 },
  { at: z(`${day}T16:30:00Z`), wh: 9000 },
  { at: z(`${day}T16:45:00Z`), wh: 9000 },
];
const price = (tariff: NamedTariff, zone: string, day: string, r = readings(day)) =>
  priceSession(tariff, zone, z(`${day}T15:30:00Z`), z(`${day}T16:45:00Z`), r);

describe('priceSession', () => {
  it('prices each piece of a session by the band it lies in, in the site zone', () => {
    // Base 16:30–17:00: 5 kWh × 0.20 = 1.00. Peak 17:00–17:30: 4 kWh × 0.40 = 1.60, 30 min × 0.05
    // = 1.50. Peak 17:30–17:45, full: 15 min × 0.05 = 0.75, parking (base) 15 × 0.10 = 1.50.
    // Fee 0.50. Net 6.85, tax 1.37, total 8.22.
    expect(price(peak, 'Europe/Berlin', '2026-12-07')).toEqual({
      net: 6.85,
      tax: 1.37,
      total: 8.22,
      currency: 'EUR',
      tariff: 'peak',
    });
  });

  it('takes the band edge in the site zone, not in UTC', () => {
    // In UTC the session (15:30–16:45) lies before 17:00: 9 kWh × 0.20 + parking 1.50 + fee 0.50.
    expect(price(peak, 'UTC', '2026-12-07')).toEqual({
      net: 3.8,
      tax: 0.76,
      total: 4.56,
      currency: 'EUR',
      tariff: 'peak',
    });
  });

  it('applies a band only on its weekdays', () => {
    // Saturday 2026-12-12: the same session at base prices.
    expect(price(peak, 'Europe/Berlin', '2026-12-12').total).toBe(4.56);
  });

  it('splits the energy between two readings linearly at the band edge', () => {
    // 0 → 8 kWh from 16:30 to 17:10 local: 6 kWh before the edge (1.20), 2 kWh after (0.80),
    // 10 min peak time (0.50); fee 0.50; no parking (still rising at the stop). Net 3.00.
    const r = [
      { at: z('2026-12-07T15:30:00Z'), wh: 0 },
      { at: z('2026-12-07T16:10:00Z'), wh: 8000 },
    ];
    const cost = priceSession(peak, 'Europe/Berlin', z('2026-12-07T15:30:00Z'), z('2026-12-07T16:10:00Z'), r);
    expect(cost).toEqual({ net: 3, tax: 0.6, total: 3.6, currency: 'EUR', tariff: 'peak' });
  });

  it('without bands: energy, time and fee, tax on top, rounded once to cents', () => {
    const flat = { ...peak, name: 'flat', energy_per_kwh: 0.3, time_per_min: 0.02, parking_per_min: 0, bands: [] };
    const r = [
      { at: 0, wh: 1000 },
      { at: 3600_000, wh: 13_000 },
    ];
    expect(priceSession(flat, 'UTC', 0, 3600_000, r)).toEqual({
      net: 5.3,
      tax: 1.06,
      total: 6.36,
      currency: 'EUR',
      tariff: 'flat',
    });
    // A register that ran backwards costs nothing extra.
    expect(priceSession(flat, 'UTC', 0, 0, [{ at: 0, wh: 5 }]).net).toBe(0.5);
  });
});
