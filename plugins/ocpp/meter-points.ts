import { meter } from './measurements.ts';
import { METER_FIELDS, normaliseMeterValues, type MeterValue } from './meter.ts';
import { tagOf, type Charger, type Station } from './station.ts';

const POWER = METER_FIELDS['Power.Active.Import'].field;

/**
 * Emits meter values as `ocpp_meter` points, each at its own timestamp: a backlog delivered late
 * lands where it belongs, and a resend overwrites itself instead of counting twice. Readings after
 * `ended` (the transaction's stop) are stored but carry no `transaction_id`: not the session's.
 */
export function emitMeterValues(
  station: Station,
  charger: Charger,
  connector: number | undefined,
  values: MeterValue[],
  transactionId?: string,
  ended?: number,
): void {
  const { readings, skipped } = normaliseMeterValues(values);
  if (skipped.length > 0) {
    station.ctx.count('meter_value_skipped', skipped.length);
    station.ctx.log.debug({ device: charger.identity, skipped }, 'meter values left out');
  }
  for (const r of readings) {
    const tags = { device: charger.identity, connector: tagOf(connector), phase: r.phase, location: r.location };
    const after = ended !== undefined && r.time > ended;
    if (after) station.ctx.count('meter_value_after_session');
    station.ctx.emit(meter.name, { ...r.fields, transaction_id: after ? undefined : transactionId }, tags, r.time);
    const watts = r.fields[POWER];
    if (!after && r.phase === undefined && r.location === undefined && typeof watts === 'number')
      station.power?.metered(charger.identity, connector, transactionId, watts, r.time);
  }
}
