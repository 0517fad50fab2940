import type { Tariff } from './config.ts';

export interface SessionCost {
  net: number;
  tax: number;
  total: number;
  currency: string;
}

/**
 * The price of a session: energy × energy price + hours × time price + session fee, then tax on
 * top. Rounded to cents once, at the end, so that the parts of a long session do not drift.
 */
export function sessionCost(energyWh: number, durationS: number, tariff: Tariff): SessionCost {
  const net =
    (Math.max(0, energyWh) / 1000) * tariff.energy_per_kwh +
    (Math.max(0, durationS) / 3600) * tariff.time_per_hour +
    tariff.session_fee;
  const tax = (net * tariff.tax_pct) / 100;
  return { net: cents(net), tax: cents(tax), total: cents(net + tax), currency: tariff.currency };
}

function cents(v: number): number {
  return Math.round(v * 100) / 100;
}
