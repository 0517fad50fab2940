import { meter } from './measurements.ts';
import { normaliseMeterValues, type MeterValue } from './meter.ts';
import { tagOf, type Charger, type Station } from './station.ts';

/**
 * Emits meter values as `ocpp_meter` points, each at its own timestamp: a backlog delivered late
 * lands where it belongs, and a resend overwrites itself instead of counting twice.
 */
export function emitMeterValues(
  station: Station,
  charger: Charger,
  connector: number | undefined,
  values: MeterValue[],
  transactionId?: string,
): void {
  const { readings, skipped } = normaliseMeterValues(values);
  if (skipped.length > 0) {
    station.ctx.count('meter_value_skipped', skipped.length);
    station.ctx.log.debug({ device: charger.identity, skipped }, 'meter values left out');
  }
  for (const r of readings) {
    const tags = { device: charger.identity, connector: tagOf(connector), phase: r.phase, location: r.location };
    station.ctx.emit(meter.name, { ...r.fields, transaction_id: transactionId }, tags, r.time);
  }
}
