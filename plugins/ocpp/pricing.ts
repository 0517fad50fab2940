import type Database from 'better-sqlite3';
import { PluginConfigError, Type, type Static } from '../../collector/sdk/index.ts';
import type { SessionPricing, SessionRow } from './sessions.ts';
import {
  completeTariff,
  priceSession,
  tariffSchema,
  type NamedTariff,
  type Reading,
  type SessionCost,
} from './tariff.ts';

/**
 * Which tariff prices a session and in which time zone: the tariff assigned to the session's
 * customer, else to its site, else `tariffs.default`, else the single `tariff` of older configs.
 * The zone is the site's in the inventory (`sites.timezone`), else `tariffs.timezone`. Energy
 * register readings of each session are kept (`ocpp_session_readings`) so that a price change in
 * the middle of a session takes the energy on either side of it.
 */
export const tariffsConfig = Type.Object(
  {
    named: Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }), tariffSchema, {
      default: {},
      description: 'Tariffs by name',
    }),
    default: Type.Optional(Type.String({ description: 'The tariff of sessions no assignment below covers' })),
    sites: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Site id → tariff name' }),
    customers: Type.Record(Type.String(), Type.String(), {
      default: {},
      description: 'Customer id → tariff name; wins over the site’s',
    }),
    timezone: Type.String({ default: 'UTC', description: 'IANA zone of the bands for a site without one' }),
  },
  { additionalProperties: false, default: {} },
);

/** The single tariff of configurations without `tariffs`. */
export const singleTariffConfig = Type.Object(
  {
    currency: Type.String({
      default: 'EUR',
      minLength: 3,
      maxLength: 3,
      description: 'ISO 4217 code of every price below',
    }),
    energy_per_kwh: Type.Number({ default: 0, minimum: 0, description: 'Price per kWh delivered' }),
    time_per_hour: Type.Number({
      default: 0,
      minimum: 0,
      description: 'Price per hour plugged in (start to stop)',
    }),
    session_fee: Type.Number({ default: 0, minimum: 0, description: 'Flat price per session' }),
    tax_pct: Type.Number({
      default: 0,
      minimum: 0,
      maximum: 100,
      description: 'Tax added on top of the net price, %',
    }),
  },
  { additionalProperties: false, default: {} },
);

export class Pricing implements SessionPricing {
  private readonly tariffs: Map<string, NamedTariff>;
  private readonly fallback: NamedTariff;
  private readonly s: { record: Database.Statement; readings: Database.Statement; zone?: Database.Statement };

  constructor(
    db: Database.Database,
    private readonly config: {
      tariff: Static<typeof singleTariffConfig>;
      tariffs: Static<typeof tariffsConfig>;
    },
  ) {
    const { tariffs, tariff } = config;
    this.tariffs = new Map(Object.entries(tariffs.named).map(([name, t]) => [name, completeTariff(name, t)]));
    for (const [key, name] of [
      ['default', tariffs.default],
      ...Object.entries(tariffs.sites).map(([site, n]) => [`sites.${site}`, n]),
      ...Object.entries(tariffs.customers).map(([c, n]) => [`customers.${c}`, n]),
    ] as Array<[string, string | undefined]>) {
      if (name !== undefined && !this.tariffs.has(name))
        throw new PluginConfigError('ocpp', `tariffs.${key}`, `no tariff named "${name}" in tariffs.named`);
    }
    for (const zone of [tariffs.timezone]) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: zone });
      } catch {
        throw new PluginConfigError('ocpp', 'tariffs.timezone', `"${zone}" is not an IANA time zone`);
      }
    }
    // The single tariff of older configurations: no bands, per hour.
    this.fallback = (tariffs.default && this.tariffs.get(tariffs.default)) || {
      name: 'tariff',
      currency: tariff.currency,
      energy_per_kwh: tariff.energy_per_kwh,
      time_per_min: tariff.time_per_hour / 60,
      parking_per_min: 0,
      fixed_fee: tariff.session_fee,
      tax_pct: tariff.tax_pct,
      bands: [],
    };
    this.s = {
      record: db.prepare('INSERT OR REPLACE INTO ocpp_session_readings (session, at, wh) VALUES (?, ?, ?)'),
      readings: db.prepare('SELECT at, wh FROM ocpp_session_readings WHERE session = ? ORDER BY at'),
    };
    // serve keeps plugins' tables in the inventory's database; without an inventory there are no sites.
    const hasSites = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sites'").get();
    if (hasSites) this.s.zone = db.prepare('SELECT timezone FROM sites WHERE id = ?').pluck();
  }

  tariffFor(site: string | null, customer: string | null): NamedTariff {
    const name =
      (customer !== null ? this.config.tariffs.customers[customer] : undefined) ??
      (site !== null ? this.config.tariffs.sites[site] : undefined);
    return (name !== undefined && this.tariffs.get(name)) || this.fallback;
  }

  zoneOf(site: string | null): string {
    const zone = site !== null ? (this.s.zone?.get(site) as string | undefined) : undefined;
    return zone ?? this.config.tariffs.timezone;
  }

  observe(row: SessionRow, at: number, wh: number): void {
    this.s.record.run(row.id, at, wh);
  }

  cost(row: SessionRow, until?: number): SessionCost | undefined {
    const stop = row.stop_time ?? until;
    if (row.start_time === null || stop === undefined) return undefined;
    let readings = this.s.readings.all(row.id) as Reading[];
    // Sessions from before readings were kept: their first and last reading.
    if (readings.length === 0 && row.meter_start_at !== null && row.meter_stop_at !== null)
      readings = [
        { at: row.meter_start_at, wh: row.meter_start_wh! },
        { at: row.meter_stop_at, wh: row.meter_stop_wh! },
      ];
    return priceSession(this.tariffFor(row.site, row.customer), this.zoneOf(row.site), row.start_time, stop, readings);
  }
}
