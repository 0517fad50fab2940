/**
 * Which limit a set of charging profiles puts on a connector at a given time, the way OCPP's
 * composite schedule combines them: per purpose the valid profile of the highest stack level
 * wins; a TxProfile of the running transaction replaces the TxDefaultProfile (one for the
 * connector before one for the whole charger, connector 0); the ChargePointMax /
 * ChargingStationMax profile caps the result. Pure: used by the plugin (the limit it writes
 * beside a connector's meter values) and by the simulated charger (the power it draws).
 */
import type { ProfileParams, Purpose } from './smart-charging.ts';

/** Nominal phase voltage for A → W (OCPP leaves it to the installation; 230 V is the European grid). */
export const VOLTS_PER_PHASE = 230;
/** OCPP: numberPhases is 3 unless a period says otherwise. */
const DEFAULT_PHASES = 3;
const DAY_S = 86_400;

export interface HeldProfile {
  /** Connector / EVSE id it was set on; 0 = the whole charger. */
  connector: number;
  profile: ProfileParams;
}

/** The transaction running on the connector: its id and start (epoch ms), for TxProfiles and relative schedules. */
export interface RunningTransaction {
  id: string;
  startedAt: number;
}

/** A period's limit in watts. */
export function periodWatts(unit: string, limit: number, phases = DEFAULT_PHASES): number {
  return unit === 'W' ? limit : limit * VOLTS_PER_PHASE * phases;
}

/** When the profile's schedule started at `now` (epoch ms), or undefined if it has not. */
function scheduleStart(p: ProfileParams, now: number, tx: RunningTransaction | undefined): number | undefined {
  if (p.kind === 'relative') return tx?.startedAt ?? now;
  const start = Date.parse(p.schedule.start ?? p.valid_from ?? '');
  if (Number.isNaN(start) || start > now) return undefined;
  if (p.kind === 'absolute') return start;
  const cycle = (p.recurrency === 'weekly' ? 7 : 1) * DAY_S * 1000;
  return start + Math.floor((now - start) / cycle) * cycle;
}

/** The limit, W, the profile sets at `now`, or undefined when none of its periods is in force. */
export function profileWattsAt(p: ProfileParams, now: number, tx?: RunningTransaction): number | undefined {
  if (p.valid_from && Date.parse(p.valid_from) > now) return undefined;
  if (p.valid_to && Date.parse(p.valid_to) <= now) return undefined;
  const start = scheduleStart(p, now, tx);
  if (start === undefined) return undefined;
  const elapsedS = (now - start) / 1000;
  if (p.schedule.duration_s !== undefined && elapsedS >= p.schedule.duration_s) return undefined;
  const period = p.schedule.periods.filter((x) => x.start_s <= elapsedS).at(-1);
  return period && periodWatts(p.schedule.unit, period.limit, period.phases);
}

/** The highest stack level's limit among the profiles of one purpose that apply, W. */
function winning(held: HeldProfile[], now: number, tx: RunningTransaction | undefined): number | undefined {
  let best: { level: number; watts: number } | undefined;
  for (const h of held) {
    const watts = profileWattsAt(h.profile, now, tx);
    if (watts !== undefined && (!best || h.profile.stack_level > best.level))
      best = { level: h.profile.stack_level, watts };
  }
  return best?.watts;
}

const of = (held: HeldProfile[], purpose: Purpose, connector: number) =>
  held.filter((h) => h.profile.purpose === purpose && h.connector === connector);

/**
 * The limit on `connector` at `now`, W, from what the charger holds; null when nothing limits it.
 * `stationShare` divides the station maximum (which caps the whole charger) among its charging
 * connectors: the simulator passes how many are charging.
 */
export function limitAt(
  held: HeldProfile[],
  connector: number,
  now: number,
  tx?: RunningTransaction,
  stationShare = 1,
): number | null {
  const txProfiles = tx ? held.filter((h) => h.profile.purpose === 'tx' && h.profile.transaction_id === tx.id) : [];
  const txLimit =
    winning(txProfiles, now, tx) ??
    winning(of(held, 'tx_default', connector), now, tx) ??
    winning(of(held, 'tx_default', 0), now, tx);
  const station = winning(of(held, 'station_max', 0), now, tx);
  const limits = [txLimit, station === undefined ? undefined : station / stationShare].filter(
    (w): w is number => w !== undefined,
  );
  return limits.length ? Math.min(...limits) : null;
}

/** Every time in [from, from + duration) at which a held profile may change its limit, epoch ms, sorted. */
function boundaries(held: HeldProfile[], from: number, durationS: number, tx?: RunningTransaction): number[] {
  const end = from + durationS * 1000;
  const times = new Set([from]);
  for (const { profile: p } of held) {
    const start = scheduleStart(p, from, tx) ?? Date.parse(p.schedule.start ?? p.valid_from ?? '');
    const edges = [
      ...p.schedule.periods.map((x) => start + x.start_s * 1000),
      ...(p.schedule.duration_s !== undefined ? [start + p.schedule.duration_s * 1000] : []),
      ...[p.valid_from, p.valid_to].filter((t) => t !== undefined).map((t) => Date.parse(t)),
    ];
    for (const t of edges) if (t > from && t < end) times.add(t);
  }
  return [...times].sort((a, b) => a - b);
}

/**
 * The composite schedule of a connector for the next `durationS` from `from`: periods in seconds
 * from `from` with their limit in W (null: unlimited), consecutive equal limits merged.
 */
export function compositeSchedule(
  held: HeldProfile[],
  connector: number,
  from: number,
  durationS: number,
  tx?: RunningTransaction,
): Array<{ start_s: number; limit_w: number | null }> {
  const periods: Array<{ start_s: number; limit_w: number | null }> = [];
  for (const t of boundaries(held, from, durationS, tx)) {
    const limit = limitAt(held, connector, t, tx);
    if (periods.at(-1)?.limit_w !== limit) periods.push({ start_s: Math.round((t - from) / 1000), limit_w: limit });
  }
  return periods;
}
