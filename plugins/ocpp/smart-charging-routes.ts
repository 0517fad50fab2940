/**
 * Smart charging in the API: a site's power limit (viewer reads, operator sets, audited) with
 * the share each of its active sessions holds, and what we know of a charger's profiles, the
 * limits it reported, its EVs' charging needs and its last composite schedule.
 */
import { Type, type PluginContext } from '../../collector/sdk/index.ts';
import type { OcppConfig } from './config.ts';
import type { SiteLimits } from './site-limits.ts';
import type { Station } from './station.ts';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);

const SiteLimitOut = Type.Object({
  site: Type.String(),
  max_power_kw: Type.Union([Type.Number(), Type.Null()]),
  active_sessions: Type.Integer(),
  allocations: Type.Array(
    Type.Object({
      session: Type.Integer(),
      charger: Type.String(),
      connector: NullableInteger,
      transaction_id: Type.String(),
      limit_w: Type.Union([Type.Number(), Type.Null()], { description: 'The share the charger accepted, W' }),
    }),
  ),
});

const At = Type.String({ format: 'date-time' });
const SmartChargingOut = Type.Object({
  charger: Type.String(),
  profiles: Type.Array(
    Type.Object({
      connector: Type.Integer(),
      profile_id: Type.Integer(),
      purpose: Type.String(),
      stack_level: Type.Integer(),
      transaction_id: Type.Union([Type.String(), Type.Null()]),
      source: Type.String({ description: 'operator, site_limit, or charger (reported by ReportChargingProfiles)' }),
      profile: Type.Unknown(),
      set_at: At,
    }),
  ),
  charging_limits: Type.Array(
    Type.Object({
      evse: Type.Integer(),
      source: Type.String(),
      grid_critical: Type.Union([Type.Boolean(), Type.Null()]),
      schedule: Type.Unknown(),
      reported_at: At,
      cleared_at: Type.Union([At, Type.Null()]),
    }),
  ),
  ev_charging_needs: Type.Array(Type.Object({ evse: Type.Integer(), needs: Type.Unknown(), reported_at: At })),
  composite_schedules: Type.Array(Type.Object({ connector: Type.Integer(), schedule: Type.Unknown(), at: At })),
});

export function registerSmartChargingRoutes(
  ctx: PluginContext<OcppConfig>,
  station: Station,
  siteLimits: SiteLimits,
): void {
  const { chargingProfiles: profiles } = station;
  const siteLimit = (site: string) => {
    const allocations = siteLimits.allocations(site);
    return { site, max_power_kw: profiles.siteLimit(site), active_sessions: allocations.length, allocations };
  };

  ctx.http.route({
    method: 'GET',
    url: '/api/v1/sites/:id/power-limit',
    config: { minRole: 'viewer' },
    schema: {
      description: "The site's power limit and the share each of its active charging sessions holds.",
      params: Id,
      response: { 200: SiteLimitOut },
    },
    handler: async (request) => siteLimit((request.params as { id: string }).id),
  });

  ctx.http.route({
    method: 'PUT',
    url: '/api/v1/sites/:id/power-limit',
    config: { minRole: 'operator', action: 'sites.power_limit' },
    schema: {
      description:
        "Sets the site's power limit (null removes it): divided equally across the site's active sessions, each sent a TxProfile for its share now and whenever a session starts or ends.",
      params: Id,
      body: Type.Object(
        { max_power_kw: Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 100_000 }), Type.Null()]) },
        { additionalProperties: false },
      ),
      response: { 200: SiteLimitOut },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const { max_power_kw } = request.body as { max_power_kw: number | null };
      // Audited by the API (action sites.power_limit, target the site id).
      profiles.setSiteLimit(id, max_power_kw, ctx.clock.now());
      // The answer shows the shares once the chargers have accepted them.
      await siteLimits.share(id);
      return siteLimit(id);
    },
  });

  ctx.http.route({
    method: 'GET',
    url: '/api/v1/chargers/:id/smart-charging',
    config: { minRole: 'viewer' },
    schema: {
      description:
        "A charger's charging profiles per connector / EVSE, the limits it reported, its EVs' charging needs and its last composite schedule per connector.",
      params: Id,
      response: { 200: SmartChargingOut },
    },
    handler: async (request) => {
      const charger = (request.params as { id: string }).id;
      return {
        charger,
        profiles: profiles.ofCharger(charger).map(({ charger: _, ...p }) => ({ ...p, set_at: iso(p.set_at) })),
        charging_limits: profiles
          .limits(charger)
          .map(({ charger: _, ...l }) => ({ ...l, reported_at: iso(l.reported_at), cleared_at: iso(l.cleared_at) })),
        ev_charging_needs: profiles.needs(charger).map((n) => ({ ...n, reported_at: iso(n.reported_at) })),
        composite_schedules: profiles.composites(charger).map((c) => ({ ...c, at: iso(c.at) })),
      };
    },
  });
}
