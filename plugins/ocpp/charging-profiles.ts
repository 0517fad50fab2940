import type Database from 'better-sqlite3';
import type { ProfileParams } from './smart-charging.ts';

/**
 * What we know of each charger's smart charging, in the inventory's SQLite file: the profiles it
 * holds per connector / EVSE (those it accepted from us, and those it reported), the limits it
 * reported (2.0.1 NotifyChargingLimit / ClearedChargingLimit), its EVs' charging needs, the last
 * composite schedule it answered, and each site's power limit.
 */
export type ProfileSource = 'operator' | 'site_limit' | 'charger';

export interface StoredProfile {
  charger: string;
  connector: number;
  profile_id: number;
  purpose: string;
  stack_level: number;
  transaction_id: string | null;
  source: ProfileSource;
  /** The plugin's shape when we sent it; the charger's OCPP shape when it reported it. */
  profile: unknown;
  set_at: number;
}

export interface ReportedLimit {
  charger: string;
  evse: number;
  source: string;
  grid_critical: boolean | null;
  schedule: unknown;
  reported_at: number;
  cleared_at: number | null;
}

export class ChargingProfiles {
  private readonly s: Record<string, Database.Statement>;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS ocpp_charging_profiles (
        charger TEXT NOT NULL, profile_id INTEGER NOT NULL, connector INTEGER NOT NULL, purpose TEXT NOT NULL,
        stack_level INTEGER NOT NULL, transaction_id TEXT, source TEXT NOT NULL, profile TEXT NOT NULL,
        set_at INTEGER NOT NULL, PRIMARY KEY (charger, profile_id)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ocpp_charging_limits (
        charger TEXT NOT NULL, evse INTEGER NOT NULL, source TEXT NOT NULL, grid_critical INTEGER,
        schedule TEXT, reported_at INTEGER NOT NULL, cleared_at INTEGER,
        PRIMARY KEY (charger, evse, source)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ocpp_ev_charging_needs (
        charger TEXT NOT NULL, evse INTEGER NOT NULL, needs TEXT NOT NULL, reported_at INTEGER NOT NULL,
        PRIMARY KEY (charger, evse)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ocpp_composite_schedules (
        charger TEXT NOT NULL, connector INTEGER NOT NULL, schedule TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (charger, connector)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ocpp_site_limits (
        site TEXT PRIMARY KEY, max_power_kw REAL NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
    `);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      put: p(`INSERT OR REPLACE INTO ocpp_charging_profiles
                (charger, profile_id, connector, purpose, stack_level, transaction_id, source, profile, set_at)
              VALUES (@charger, @profile_id, @connector, @purpose, @stack_level, @transaction_id, @source, @profile, @set_at)`),
      remove: p('DELETE FROM ocpp_charging_profiles WHERE charger = ? AND profile_id = ?'),
      ofCharger: p(
        'SELECT * FROM ocpp_charging_profiles WHERE charger = ? ORDER BY connector, stack_level, profile_id',
      ),
      limit: p(`INSERT OR REPLACE INTO ocpp_charging_limits
                  (charger, evse, source, grid_critical, schedule, reported_at, cleared_at) VALUES (?, ?, ?, ?, ?, ?, NULL)`),
      cleared: p(
        'UPDATE ocpp_charging_limits SET cleared_at = ? WHERE charger = ? AND source = ? AND (? IS NULL OR evse = ?)',
      ),
      limits: p('SELECT * FROM ocpp_charging_limits WHERE charger = ? ORDER BY evse, source'),
      needs: p('INSERT OR REPLACE INTO ocpp_ev_charging_needs (charger, evse, needs, reported_at) VALUES (?, ?, ?, ?)'),
      needsOf: p('SELECT * FROM ocpp_ev_charging_needs WHERE charger = ? ORDER BY evse'),
      composite: p(
        'INSERT OR REPLACE INTO ocpp_composite_schedules (charger, connector, schedule, at) VALUES (?, ?, ?, ?)',
      ),
      compositeOf: p('SELECT * FROM ocpp_composite_schedules WHERE charger = ? ORDER BY connector'),
      siteLimit: p('SELECT max_power_kw FROM ocpp_site_limits WHERE site = ?').pluck(),
      setSiteLimit: p('INSERT OR REPLACE INTO ocpp_site_limits (site, max_power_kw, updated_at) VALUES (?, ?, ?)'),
      dropSiteLimit: p('DELETE FROM ocpp_site_limits WHERE site = ?'),
    };
  }

  /** A profile the charger accepted (or reported): it replaces the charger's profile of that id. */
  put(p: StoredProfile): void {
    this.s.put.run({ ...p, profile: JSON.stringify(p.profile) });
  }

  putSent(charger: string, connector: number, profile: ProfileParams, source: ProfileSource, at: number): void {
    this.put({
      charger,
      connector,
      profile_id: profile.id,
      purpose: profile.purpose,
      stack_level: profile.stack_level,
      transaction_id: profile.transaction_id ?? null,
      source,
      profile,
      set_at: at,
    });
  }

  remove(charger: string, profileId: number): void {
    this.s.remove.run(charger, profileId);
  }

  /**
   * What a ClearChargingProfile the charger accepted removed: by id, or every profile matching
   * the criteria given (OCPP: the criteria combine).
   */
  cleared(charger: string, c: { id?: number; connector?: number; purpose?: string; stack_level?: number }): void {
    for (const p of this.ofCharger(charger)) {
      const match =
        c.id !== undefined
          ? p.profile_id === c.id
          : (c.connector === undefined || p.connector === c.connector) &&
            (c.purpose === undefined || p.purpose === c.purpose) &&
            (c.stack_level === undefined || p.stack_level === c.stack_level);
      if (match) this.remove(charger, p.profile_id);
    }
  }

  ofCharger(charger: string): StoredProfile[] {
    return (this.s.ofCharger.all(charger) as Array<StoredProfile & { profile: string }>).map((r) => ({
      ...r,
      profile: JSON.parse(r.profile) as unknown,
    }));
  }

  reportLimit(
    charger: string,
    evse: number,
    source: string,
    gridCritical: boolean | undefined,
    schedule: unknown,
    at: number,
  ): void {
    const critical = gridCritical === undefined ? null : Number(gridCritical);
    this.s.limit.run(charger, evse, source, critical, schedule === undefined ? null : JSON.stringify(schedule), at);
  }

  clearLimit(charger: string, source: string, evse: number | undefined, at: number): void {
    this.s.cleared.run(at, charger, source, evse ?? null, evse ?? null);
  }

  limits(charger: string): ReportedLimit[] {
    type Row = Omit<ReportedLimit, 'grid_critical' | 'schedule'> & {
      grid_critical: number | null;
      schedule: string | null;
    };
    return (this.s.limits.all(charger) as Row[]).map((r) => ({
      ...r,
      grid_critical: r.grid_critical === null ? null : r.grid_critical === 1,
      schedule: r.schedule === null ? null : (JSON.parse(r.schedule) as unknown),
    }));
  }

  reportNeeds(charger: string, evse: number, needs: unknown, at: number): void {
    this.s.needs.run(charger, evse, JSON.stringify(needs), at);
  }

  needs(charger: string): Array<{ evse: number; needs: unknown; reported_at: number }> {
    return (this.s.needsOf.all(charger) as Array<{ evse: number; needs: string; reported_at: number }>).map((r) => ({
      evse: r.evse,
      needs: JSON.parse(r.needs) as unknown,
      reported_at: r.reported_at,
    }));
  }

  saveComposite(charger: string, connector: number, schedule: unknown, at: number): void {
    this.s.composite.run(charger, connector, JSON.stringify(schedule), at);
  }

  composites(charger: string): Array<{ connector: number; schedule: unknown; at: number }> {
    return (this.s.compositeOf.all(charger) as Array<{ connector: number; schedule: string; at: number }>).map((r) => ({
      connector: r.connector,
      schedule: JSON.parse(r.schedule) as unknown,
      at: r.at,
    }));
  }

  siteLimit(site: string): number | null {
    return (this.s.siteLimit.get(site) as number | undefined) ?? null;
  }

  setSiteLimit(site: string, maxPowerKw: number | null, at: number): void {
    if (maxPowerKw === null) this.s.dropSiteLimit.run(site);
    else this.s.setSiteLimit.run(site, maxPowerKw, at);
  }
}
