/**
 * Power against its limit, as points: per connector the limit its profiles put on it now beside
 * the power it reports (`ocpp_charging_limit`), and per site with a power limit that limit beside
 * what its active sessions draw (`ocpp_site_power`). The dashboards and the alert rules compare
 * the two fields of one point: InfluxQL cannot join two measurements.
 */
import type { ChargingProfiles, StoredProfile } from './charging-profiles.ts';
import { chargingLimit, sitePower } from './measurements.ts';
import { limitAt, type HeldProfile } from './schedule-limit.ts';
import type { SessionRow } from './sessions.ts';
import { profileOf, type ProfileParams } from './smart-charging.ts';
import { tagOf, type Station } from './station.ts';

/** What we hold of a profile in the plugin's words (a charger's report is in its OCPP shape). */
const held = (p: StoredProfile): HeldProfile => ({
  connector: p.connector,
  profile: p.source === 'charger' ? profileOf(p.profile as Record<string, unknown>) : (p.profile as ProfileParams),
});

export class SitePower {
  /** The last power each active session reported, W, per site. */
  private readonly drawn = new Map<string, Map<number, number>>();

  constructor(
    private readonly station: Station,
    private readonly profiles: ChargingProfiles,
  ) {}

  /** A meter value with the connector's total Power.Active.Import. */
  metered(
    charger: string,
    connector: number | undefined,
    transactionId: string | undefined,
    watts: number,
    at: number,
  ) {
    const { sessions } = this.station;
    const row =
      transactionId !== undefined
        ? sessions.get(charger, transactionId)
        : sessions.active(charger).find((r) => r.connector === (connector ?? null));
    if (!row || row.state !== 'active') return;
    const tx = { id: row.transaction_id, startedAt: row.start_time ?? at };
    const limit = limitAt(this.profiles.ofCharger(charger).map(held), connector ?? row.connector ?? 0, at, tx);
    const tags = { device: charger, connector: tagOf(connector ?? row.connector) };
    if (limit !== null) this.station.ctx.emit(chargingLimit.name, { limit_w: limit, drawn_w: watts }, tags, at);
    if (!row.site) return;
    let site = this.drawn.get(row.site);
    if (!site) this.drawn.set(row.site, (site = new Map<number, number>()));
    site.set(row.id, watts);
    this.site(row.site, at);
  }

  /** A site share the charger accepted. */
  shared(row: SessionRow, limitW: number, at: number): void {
    this.station.ctx.emit(
      chargingLimit.name,
      { limit_w: limitW },
      { device: row.charger, connector: tagOf(row.connector) },
      at,
    );
  }

  /** The site's limit beside its active sessions' last power, if it has a limit and sessions. */
  site(site: string, at: number): void {
    const maxKw = this.profiles.siteLimit(site);
    const active = this.station.sessions.list({ site, state: 'active', limit: 10_000 });
    const last = this.drawn.get(site);
    if (last) for (const id of last.keys()) if (!active.some((r) => r.id === id)) last.delete(id);
    if (maxKw === null || active.length === 0) return;
    let drawn = 0;
    for (const w of last?.values() ?? []) drawn += w;
    const fields = { limit_w: maxKw * 1000, drawn_w: drawn, sessions: active.length };
    this.station.ctx.emit(sitePower.name, fields, { site, customer: active[0].customer ?? undefined }, at);
  }
}
