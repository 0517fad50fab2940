import { localParts, localToInstant, addDays, weekdayOf, Type, type Static } from '../../collector/sdk/index.ts';

/**
 * Named tariffs and the price of a session under one. A tariff has base prices and optional
 * bands (weekdays and a local time range in the site's zone) that replace some of them; a session
 * is cut where it crosses a band edge, and each piece is priced by the band it lies in: energy by
 * the growth of the energy register across it (linear between two readings), time per minute,
 * and parking per minute once the energy stopped rising. Fixed fee and tax once per session,
 * rounded to cents once at the end so that the pieces do not drift.
 */
const price = (description: string) => Type.Number({ minimum: 0, description });
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

const bandPrices = {
  energy_per_kwh: Type.Optional(price('Price per kWh in this band')),
  time_per_min: Type.Optional(price('Price per minute plugged in, in this band')),
  parking_per_min: Type.Optional(price('Price per minute after the energy stopped rising, in this band')),
};

// Defaults are not applied inside a record of tariffs: every field but `from`/`to` is optional
// here, and `completeTariff` fills in the stated default.
const opt = (description: string, extra: object = {}) =>
  Type.Optional(Type.Number({ minimum: 0, description, ...extra }));

export const tariffSchema = Type.Object(
  {
    currency: Type.Optional(
      Type.String({ minLength: 3, maxLength: 3, description: 'ISO 4217 code of every price; default EUR' }),
    ),
    energy_per_kwh: opt('Price per kWh delivered; default 0'),
    time_per_min: opt('Price per minute plugged in (start to stop); default 0'),
    parking_per_min: opt(
      'Price per minute after the energy stopped rising (the car is full), on top of time_per_min; default 0',
    ),
    fixed_fee: opt('Flat price per session; default 0'),
    tax_pct: opt('Tax added on top of the net price, %; default 0', { maximum: 100 }),
    bands: Type.Optional(
      Type.Array(
        Type.Object(
          {
            days: Type.Optional(
              Type.Array(Type.Union(DAYS.map((d) => Type.Literal(d))), {
                minItems: 1,
                description: 'Weekdays the band applies on (local date); default every day',
              }),
            ),
            from: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'Local start, HH:MM' }),
            to: Type.String({
              pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$',
              description: 'Local end, HH:MM (exclusive; 24:00 = midnight). A night band is two bands',
            }),
            ...bandPrices,
          },
          { additionalProperties: false },
        ),
        { description: 'Time-of-day bands; the first that matches a moment wins, else the base prices' },
      ),
    ),
  },
  { additionalProperties: false },
);

type Day = (typeof DAYS)[number];
interface Band {
  days: readonly Day[];
  from: string;
  to: string;
  energy_per_kwh?: number;
  time_per_min?: number;
  parking_per_min?: number;
}
export interface NamedTariff {
  /** Its key in `tariffs.named` (`tariff` for the single tariff of older configs): the session's `tariff` tag. */
  name: string;
  currency: string;
  energy_per_kwh: number;
  time_per_min: number;
  parking_per_min: number;
  fixed_fee: number;
  tax_pct: number;
  bands: Band[];
}

/** A configured tariff with every default filled in. */
export function completeTariff(name: string, t: Static<typeof tariffSchema>): NamedTariff {
  return {
    name,
    currency: t.currency ?? 'EUR',
    energy_per_kwh: t.energy_per_kwh ?? 0,
    time_per_min: t.time_per_min ?? 0,
    parking_per_min: t.parking_per_min ?? 0,
    fixed_fee: t.fixed_fee ?? 0,
    tax_pct: t.tax_pct ?? 0,
    bands: (t.bands ?? []).map((b) => ({ ...b, days: (b.days as Day[] | undefined) ?? DAYS })),
  };
}

export interface SessionCost {
  net: number;
  tax: number;
  total: number;
  currency: string;
  /** The name of the tariff that priced it. */
  tariff: string;
}

export interface Reading {
  /** Epoch ms. */
  at: number;
  wh: number;
}

/** The price of a session from `start` to `stop` (epoch ms) given its energy register readings. */
export function priceSession(
  tariff: NamedTariff,
  zone: string,
  start: number,
  stop: number,
  readings: Reading[],
): SessionCost {
  const sorted = [...readings].sort((a, b) => a.at - b.at);
  const register = (t: number) => interpolate(sorted, t);
  const full = fullAt(sorted, start);
  const cuts = [
    ...new Set([start, ...bandEdges(tariff, zone, start, stop), ...(full > start && full < stop ? [full] : []), stop]),
  ]
    .filter((t) => t >= start && t <= stop)
    .sort((a, b) => a - b);
  let net = tariff.fixed_fee;
  for (let i = 1; i < cuts.length; i++) {
    const [a, b] = [cuts[i - 1], cuts[i]];
    const band = bandAt(tariff, zone, a + (b - a) / 2);
    const minutes = (b - a) / 60_000;
    net += (Math.max(0, register(b) - register(a)) / 1000) * (band?.energy_per_kwh ?? tariff.energy_per_kwh);
    net += minutes * (band?.time_per_min ?? tariff.time_per_min);
    if (a >= full) net += minutes * (band?.parking_per_min ?? tariff.parking_per_min);
  }
  const tax = (net * tariff.tax_pct) / 100;
  return { net: cents(net), tax: cents(tax), total: cents(net + tax), currency: tariff.currency, tariff: tariff.name };
}

/** The register at `t`: linear between the readings around it, flat outside them. */
function interpolate(r: Reading[], t: number): number {
  if (r.length === 0) return 0;
  if (t <= r[0].at) return r[0].wh;
  for (let i = 1; i < r.length; i++) {
    if (t > r[i].at) continue;
    const [a, b] = [r[i - 1], r[i]];
    return b.at === a.at ? b.wh : a.wh + ((b.wh - a.wh) * (t - a.at)) / (b.at - a.at);
  }
  return r[r.length - 1].wh;
}

/** When the register reached its final value: parking starts there. No readings: never. */
function fullAt(r: Reading[], start: number): number {
  if (r.length === 0) return Infinity;
  const last = r[r.length - 1].wh;
  const first = r.find((x) => x.wh >= last)!;
  return Math.max(start, first.at);
}

/** Every instant in (start, stop) where a band of the tariff begins or ends, in the zone's local time. */
function bandEdges(tariff: NamedTariff, zone: string, start: number, stop: number): number[] {
  if (tariff.bands.length === 0 || stop <= start) return [];
  const minutes = new Set(tariff.bands.flatMap((b) => [minuteOf(b.from), minuteOf(b.to)]));
  const edges: number[] = [];
  const first = localParts(start, zone);
  const last = localParts(stop, zone);
  const lastDay = Date.UTC(last.year, last.month - 1, last.day);
  for (let d = addDays(first, -1); Date.UTC(d.year, d.month - 1, d.day) <= lastDay; d = addDays(d, 1)) {
    for (const m of minutes) {
      const day = m === 1440 ? addDays(d, 1) : d;
      const t = localToInstant({ ...day, hour: Math.floor((m % 1440) / 60), minute: m % 60 }, zone);
      if (t > start && t < stop) edges.push(t);
    }
  }
  return edges;
}

function bandAt(tariff: NamedTariff, zone: string, t: number): Band | undefined {
  const p = localParts(t, zone);
  const day = DAYS[weekdayOf(p)];
  const minute = p.hour * 60 + p.minute + p.second / 60;
  return tariff.bands.find((b) => b.days.includes(day) && minuteOf(b.from) <= minute && minute < minuteOf(b.to));
}

function minuteOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

function cents(v: number): number {
  return Math.round(v * 100) / 100;
}
