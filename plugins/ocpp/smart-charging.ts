/**
 * Smart charging in the plugin's words and in each OCPP version's: the charging profile and the
 * parameters of set_charging_profile, clear_charging_profile, get_composite_schedule and
 * get_charging_profiles, mapped to the 1.6 and 2.0.1 payloads. Pure: no I/O.
 */
import { Type, type Static } from '../../collector/sdk/index.ts';
import type { OcppVersion } from './config.ts';

const closed = { additionalProperties: false } as const;
const oneOf = <const T extends readonly string[]>(values: T, description: string) => Type.Enum(values, { description });

/** The profile purposes; `station_max` is 1.6 ChargePointMaxProfile, 2.0.1 ChargingStationMaxProfile. */
export const PURPOSES = ['station_max', 'tx_default', 'tx'] as const;
export type Purpose = (typeof PURPOSES)[number];
const purpose = oneOf(PURPOSES, 'station_max, tx_default or tx');
const unit = oneOf(['W', 'A'] as const, 'W (watts) or A (amperes per phase)');
const connector = Type.Integer({
  minimum: 0,
  description: 'Connector id (0 = the whole charger); in 2.0.1 the EVSE id',
});

export const ChargingProfile = Type.Object(
  {
    id: Type.Integer({ minimum: 1 }),
    stack_level: Type.Integer({ minimum: 0, default: 0 }),
    purpose,
    kind: oneOf(['absolute', 'recurring', 'relative'] as const, 'absolute, recurring or relative'),
    recurrency: Type.Optional(oneOf(['daily', 'weekly'] as const, 'daily or weekly (kind recurring)')),
    valid_from: Type.Optional(Type.String({ format: 'date-time' })),
    valid_to: Type.Optional(Type.String({ format: 'date-time' })),
    transaction_id: Type.Optional(Type.String({ minLength: 1, maxLength: 36, description: 'Only for purpose tx' })),
    schedule: Type.Object(
      {
        unit,
        start: Type.Optional(Type.String({ format: 'date-time', description: 'Kind absolute or recurring' })),
        duration_s: Type.Optional(Type.Integer({ minimum: 1 })),
        min_rate: Type.Optional(Type.Number({ minimum: 0 })),
        periods: Type.Array(
          Type.Object(
            {
              start_s: Type.Integer({ minimum: 0, description: 'Seconds from the schedule start' }),
              limit: Type.Number({ minimum: 0, description: 'In the schedule unit' }),
              phases: Type.Optional(Type.Integer({ minimum: 1, maximum: 3 })),
            },
            closed,
          ),
          { minItems: 1, maxItems: 24 },
        ),
      },
      closed,
    ),
  },
  closed,
);
export type ProfileParams = Static<typeof ChargingProfile>;

export const smartChargingSpecs = {
  set_charging_profile: {
    description: 'Installs a charging profile on a connector / EVSE (0 = the whole charger) (SetChargingProfile)',
    params: Type.Object({ connector, profile: ChargingProfile }, closed),
  },
  clear_charging_profile: {
    description: 'Removes charging profiles by id, or by connector, purpose and stack level (ClearChargingProfile)',
    params: Type.Object(
      {
        id: Type.Optional(Type.Integer({ minimum: 1 })),
        connector: Type.Optional(connector),
        purpose: Type.Optional(purpose),
        stack_level: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      closed,
    ),
  },
  get_composite_schedule: {
    description:
      'Asks what the charger will deliver on a connector / EVSE for the next duration_s (GetCompositeSchedule)',
    params: Type.Object(
      { connector, duration_s: Type.Integer({ minimum: 1, maximum: 604_800 }), unit: Type.Optional(unit) },
      closed,
    ),
  },
  get_charging_profiles: {
    description: 'Has a 2.0.1 charger report its installed profiles (GetChargingProfiles → ReportChargingProfiles)',
    params: Type.Object(
      {
        connector: Type.Optional(connector),
        purpose: Type.Optional(purpose),
        stack_level: Type.Optional(Type.Integer({ minimum: 0 })),
        ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 50 })),
      },
      closed,
    ),
  },
};

type Params<N extends keyof typeof smartChargingSpecs> = Static<(typeof smartChargingSpecs)[N]['params']>;

const PURPOSE_16: Record<Purpose, string> = {
  station_max: 'ChargePointMaxProfile',
  tx_default: 'TxDefaultProfile',
  tx: 'TxProfile',
};
const PURPOSE_201: Record<Purpose, string> = { ...PURPOSE_16, station_max: 'ChargingStationMaxProfile' };
const capital = (s: string) => s[0].toUpperCase() + s.slice(1);

export function purposeName(version: OcppVersion, p: string): string {
  return (version === 'ocpp1.6' ? PURPOSE_16 : PURPOSE_201)[p as Purpose];
}

/** The plugin's purpose of an OCPP purpose name (either version); undefined for ChargingStationExternalConstraints. */
export function purposeOf(name: string): Purpose | undefined {
  return PURPOSES.find((p) => PURPOSE_16[p] === name || PURPOSE_201[p] === name);
}

/** The profile as the charger's version writes it, or why it cannot be sent. */
export function ocppProfile(version: OcppVersion, p: ProfileParams): Record<string, unknown> | string {
  if (p.transaction_id !== undefined && p.purpose !== 'tx') return 'transaction_id is only for purpose tx';
  const s = p.schedule;
  const schedule = {
    chargingRateUnit: s.unit,
    chargingSchedulePeriod: s.periods.map((x) => ({
      startPeriod: x.start_s,
      limit: x.limit,
      ...(x.phases ? { numberPhases: x.phases } : {}),
    })),
    ...(s.start ? { startSchedule: s.start } : {}),
    ...(s.duration_s ? { duration: s.duration_s } : {}),
    ...(s.min_rate !== undefined ? { minChargingRate: s.min_rate } : {}),
  };
  const common = {
    stackLevel: p.stack_level,
    chargingProfilePurpose: purposeName(version, p.purpose),
    chargingProfileKind: capital(p.kind),
    ...(p.recurrency ? { recurrencyKind: capital(p.recurrency) } : {}),
    ...(p.valid_from ? { validFrom: p.valid_from } : {}),
    ...(p.valid_to ? { validTo: p.valid_to } : {}),
  };
  if (version === 'ocpp1.6') {
    let transactionId: number | undefined;
    if (p.transaction_id !== undefined) {
      transactionId = Number(p.transaction_id);
      if (!Number.isInteger(transactionId)) return `ocpp1.6 transaction ids are integers, got "${p.transaction_id}"`;
    }
    return {
      chargingProfileId: p.id,
      ...(transactionId !== undefined ? { transactionId } : {}),
      ...common,
      chargingSchedule: schedule,
    };
  }
  return {
    id: p.id,
    ...common,
    ...(p.transaction_id !== undefined ? { transactionId: p.transaction_id } : {}),
    chargingSchedule: [{ id: p.id, ...schedule }],
  };
}

/** The SetChargingProfile payload of a version, or why it cannot be sent. */
export function setProfilePayload(
  version: OcppVersion,
  params: Params<'set_charging_profile'>,
): Record<string, unknown> | string {
  const profile = ocppProfile(version, params.profile);
  if (typeof profile === 'string') return profile;
  return version === 'ocpp1.6'
    ? { connectorId: params.connector, csChargingProfiles: profile }
    : { evseId: params.connector, chargingProfile: profile };
}

export function clearProfilePayload(
  version: OcppVersion,
  p: Params<'clear_charging_profile'>,
): Record<string, unknown> {
  const purposeField = p.purpose ? { chargingProfilePurpose: purposeName(version, p.purpose) } : {};
  const level = p.stack_level !== undefined ? { stackLevel: p.stack_level } : {};
  if (version === 'ocpp1.6')
    return {
      ...(p.id !== undefined ? { id: p.id } : {}),
      ...(p.connector !== undefined ? { connectorId: p.connector } : {}),
      ...purposeField,
      ...level,
    };
  const criteria = { ...(p.connector !== undefined ? { evseId: p.connector } : {}), ...purposeField, ...level };
  return {
    ...(p.id !== undefined ? { chargingProfileId: p.id } : {}),
    ...(Object.keys(criteria).length ? { chargingProfileCriteria: criteria } : {}),
  };
}

export function compositePayload(version: OcppVersion, p: Params<'get_composite_schedule'>): Record<string, unknown> {
  const rate = p.unit ? { chargingRateUnit: p.unit } : {};
  return version === 'ocpp1.6'
    ? { connectorId: p.connector, duration: p.duration_s, ...rate }
    : { evseId: p.connector, duration: p.duration_s, ...rate };
}

export function getProfilesPayload(p: Params<'get_charging_profiles'>, requestId: number): Record<string, unknown> {
  return {
    requestId,
    ...(p.connector !== undefined ? { evseId: p.connector } : {}),
    chargingProfile: {
      ...(p.purpose ? { chargingProfilePurpose: purposeName('ocpp2.0.1', p.purpose) } : {}),
      ...(p.stack_level !== undefined ? { stackLevel: p.stack_level } : {}),
      ...(p.ids ? { chargingProfileId: p.ids } : {}),
    },
  };
}

/** A TxProfile holding a session to `limitW` watts from its start (what the site limit sends). */
export function sessionCap(id: number, transactionId: string, limitW: number): ProfileParams {
  return {
    id,
    stack_level: 0,
    purpose: 'tx',
    kind: 'relative',
    transaction_id: transactionId,
    schedule: { unit: 'W', periods: [{ start_s: 0, limit: limitW }] },
  };
}

type OcppSchedule = {
  chargingRateUnit: 'W' | 'A';
  startSchedule?: string;
  duration?: number;
  minChargingRate?: number;
  chargingSchedulePeriod: Array<{ startPeriod: number; limit: number; numberPhases?: number }>;
};

/** A profile in the plugin's words from either version's OCPP shape (what a charger is sent): ocppProfile reversed. */
export function profileOf(ocpp: Record<string, unknown>): ProfileParams {
  const o = ocpp as {
    id?: number;
    chargingProfileId?: number;
    stackLevel: number;
    chargingProfilePurpose: string;
    chargingProfileKind: string;
    recurrencyKind?: string;
    validFrom?: string;
    validTo?: string;
    transactionId?: number | string;
    chargingSchedule: OcppSchedule | OcppSchedule[];
  };
  const s = Array.isArray(o.chargingSchedule) ? o.chargingSchedule[0] : o.chargingSchedule;
  const lower = (x: string) => x.toLowerCase() as never;
  return {
    id: o.id ?? o.chargingProfileId ?? 0,
    stack_level: o.stackLevel,
    purpose: purposeOf(o.chargingProfilePurpose) ?? 'tx_default',
    kind: lower(o.chargingProfileKind),
    ...(o.recurrencyKind ? { recurrency: lower(o.recurrencyKind) } : {}),
    ...(o.validFrom ? { valid_from: o.validFrom } : {}),
    ...(o.validTo ? { valid_to: o.validTo } : {}),
    ...(o.transactionId !== undefined ? { transaction_id: String(o.transactionId) } : {}),
    schedule: {
      unit: s.chargingRateUnit,
      ...(s.startSchedule ? { start: s.startSchedule } : {}),
      ...(s.duration !== undefined ? { duration_s: s.duration } : {}),
      ...(s.minChargingRate !== undefined ? { min_rate: s.minChargingRate } : {}),
      periods: s.chargingSchedulePeriod.map((x) => ({
        start_s: x.startPeriod,
        limit: x.limit,
        ...(x.numberPhases ? { phases: x.numberPhases } : {}),
      })),
    },
  };
}
