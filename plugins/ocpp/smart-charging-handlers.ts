/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-argument -- handlers read OcppPayload, schema-checked by ocpp-rpc (station.ts) */
/**
 * Smart charging messages from 2.0.1 chargers (ReportChargingProfiles, NotifyChargingLimit,
 * ClearedChargingLimit, NotifyEVChargingNeeds), stored in the charging profiles store, and what
 * the answers to our smart charging commands tell us about the profiles a charger holds.
 */
import type { OcppVersion } from './config.ts';
import { purposeOf, type ProfileParams } from './smart-charging.ts';
import type { Charger, OcppPayload, Station, On } from './station.ts';

export function registerSmartCharging(station: Station, version: OcppVersion, on: On): void {
  if (version === 'ocpp1.6') return;
  const { ctx, chargingProfiles: profiles } = station;
  on('ReportChargingProfiles', (p, charger) => {
    for (const profile of p.chargingProfile as OcppPayload[]) {
      profiles.put({
        charger: charger.identity,
        connector: p.evseId,
        profile_id: profile.id,
        purpose: purposeOf(profile.chargingProfilePurpose) ?? profile.chargingProfilePurpose,
        stack_level: profile.stackLevel,
        transaction_id: profile.transactionId ?? null,
        source: 'charger',
        profile: { ...profile, limit_source: p.chargingLimitSource },
        set_at: ctx.clock.now(),
      });
    }
    return {};
  });
  on('NotifyChargingLimit', (p, charger) => {
    const { chargingLimitSource, isGridCritical } = p.chargingLimit;
    profiles.reportLimit(
      charger.identity,
      p.evseId ?? 0,
      chargingLimitSource,
      isGridCritical,
      p.chargingSchedule,
      ctx.clock.now(),
    );
    ctx.count('charging_limit_reported');
    return {};
  });
  on('ClearedChargingLimit', (p, charger) => {
    profiles.clearLimit(charger.identity, p.chargingLimitSource, p.evseId, ctx.clock.now());
    return {};
  });
  on('NotifyEVChargingNeeds', (p, charger) => {
    profiles.reportNeeds(charger.identity, p.evseId, p.chargingNeeds, ctx.clock.now());
    // Stored, not planned for: we compute no schedule from an EV's needs, and say so.
    return { status: 'Rejected', statusInfo: { reasonCode: 'NoSchedule' } };
  });
}

/** A smart charging command the charger carried out: what it now holds. */
export function recordSmartChargingAnswer(
  station: Station,
  charger: Charger,
  name: string,
  params: unknown,
  result: unknown,
): void {
  const { chargingProfiles: profiles, ctx } = station;
  const at = ctx.clock.now();
  switch (name) {
    case 'set_charging_profile': {
      const p = params as { connector: number; profile: ProfileParams };
      return profiles.putSent(charger.identity, p.connector, p.profile, 'operator', at);
    }
    case 'clear_charging_profile':
      return profiles.cleared(charger.identity, params as Parameters<typeof profiles.cleared>[1]);
    case 'get_composite_schedule':
      return profiles.saveComposite(charger.identity, (params as { connector: number }).connector, result, at);
  }
}
