/**
 * Meter values of both OCPP versions, normalised: one field per measurand in one base unit.
 * Pure (no I/O): the plugin turns each result into `ocpp_meter` points.
 *
 * 1.6 sends every value as a string with an optional `unit` ("kWh", "Celsius", ...); 2.0.1 sends
 * numbers with `unitOfMeasure: { unit, multiplier }` (value × 10^multiplier). Both default the
 * measurand to Energy.Active.Import.Register.
 */
type Base = 'Wh' | 'varh' | 'VAh' | 'W' | 'var' | 'VA' | 'A' | 'V' | 'Hz' | '%' | '°C' | '' | 'rpm';

interface MeterField {
  field: string;
  unit: Base;
  description: string;
}

const m = (field: string, unit: Base, description: string): MeterField => ({ field, unit, description });

/** Every measurand of 1.6 and 2.0.1, its field in `ocpp_meter` and the unit it is stored in. */
export const METER_FIELDS: Record<string, MeterField> = {
  'Energy.Active.Import.Register': m('energy_active_import_wh', 'Wh', 'Active energy imported (to the EV), register'),
  'Energy.Active.Export.Register': m('energy_active_export_wh', 'Wh', 'Active energy exported (from the EV), register'),
  'Energy.Reactive.Import.Register': m('energy_reactive_import_varh', 'varh', 'Reactive energy imported, register'),
  'Energy.Reactive.Export.Register': m('energy_reactive_export_varh', 'varh', 'Reactive energy exported, register'),
  'Energy.Active.Import.Interval': m(
    'energy_active_import_interval_wh',
    'Wh',
    'Active energy imported during the last interval',
  ),
  'Energy.Active.Export.Interval': m(
    'energy_active_export_interval_wh',
    'Wh',
    'Active energy exported during the last interval',
  ),
  'Energy.Reactive.Import.Interval': m(
    'energy_reactive_import_interval_varh',
    'varh',
    'Reactive energy imported during the last interval',
  ),
  'Energy.Reactive.Export.Interval': m(
    'energy_reactive_export_interval_varh',
    'varh',
    'Reactive energy exported during the last interval',
  ),
  'Energy.Active.Net': m('energy_active_net_wh', 'Wh', 'Active energy, import − export (2.0.1)'),
  'Energy.Reactive.Net': m('energy_reactive_net_varh', 'varh', 'Reactive energy, import − export (2.0.1)'),
  'Energy.Apparent.Net': m('energy_apparent_net_vah', 'VAh', 'Apparent energy, net (2.0.1)'),
  'Energy.Apparent.Import': m('energy_apparent_import_vah', 'VAh', 'Apparent energy imported (2.0.1)'),
  'Energy.Apparent.Export': m('energy_apparent_export_vah', 'VAh', 'Apparent energy exported (2.0.1)'),
  'Power.Active.Import': m('power_active_import_w', 'W', 'Active power imported (to the EV)'),
  'Power.Active.Export': m('power_active_export_w', 'W', 'Active power exported'),
  'Power.Reactive.Import': m('power_reactive_import_var', 'var', 'Reactive power imported'),
  'Power.Reactive.Export': m('power_reactive_export_var', 'var', 'Reactive power exported'),
  'Power.Offered': m('power_offered_w', 'W', 'Maximum power offered to the EV'),
  'Power.Factor': m('power_factor', '', 'Power factor (no unit)'),
  'Current.Import': m('current_import_a', 'A', 'Current to the EV'),
  'Current.Export': m('current_export_a', 'A', 'Current from the EV'),
  'Current.Offered': m('current_offered_a', 'A', 'Maximum current offered to the EV'),
  Voltage: m('voltage_v', 'V', 'AC RMS supply voltage'),
  Frequency: m('frequency_hz', 'Hz', 'Grid frequency'),
  Temperature: m('temperature_c', '°C', 'Temperature (1.6)'),
  SoC: m('soc_pct', '%', 'State of charge of the EV battery'),
  RPM: m('fan_rpm', 'rpm', 'Fan speed (1.6)'),
};

const DEFAULT_MEASURAND = 'Energy.Active.Import.Register';

/** What a unit string means: the base unit it converts to and how. */
const UNITS: Record<string, { base: Base; convert: (v: number) => number }> = {
  Wh: { base: 'Wh', convert: (v) => v },
  kWh: { base: 'Wh', convert: (v) => v * 1000 },
  varh: { base: 'varh', convert: (v) => v },
  kvarh: { base: 'varh', convert: (v) => v * 1000 },
  VAh: { base: 'VAh', convert: (v) => v },
  kVAh: { base: 'VAh', convert: (v) => v * 1000 },
  W: { base: 'W', convert: (v) => v },
  kW: { base: 'W', convert: (v) => v * 1000 },
  var: { base: 'var', convert: (v) => v },
  kvar: { base: 'var', convert: (v) => v * 1000 },
  VA: { base: 'VA', convert: (v) => v },
  kVA: { base: 'VA', convert: (v) => v * 1000 },
  A: { base: 'A', convert: (v) => v },
  V: { base: 'V', convert: (v) => v },
  Hz: { base: 'Hz', convert: (v) => v },
  Percent: { base: '%', convert: (v) => v },
  Celsius: { base: '°C', convert: (v) => v },
  Celcius: { base: '°C', convert: (v) => v }, // the 1.6 schema's own misspelling
  K: { base: '°C', convert: (v) => v - 273.15 },
  Fahrenheit: { base: '°C', convert: (v) => ((v - 32) * 5) / 9 },
};

/** One sampled value as either version sends it. */
export interface SampledValue {
  value: string | number;
  measurand?: string;
  phase?: string;
  location?: string;
  context?: string;
  format?: string;
  unit?: string;
  unitOfMeasure?: { unit?: string; multiplier?: number };
}

export interface MeterValue {
  timestamp: string;
  sampledValue: SampledValue[];
}

/** Readings of one timestamp, phase and location: one `ocpp_meter` point. */
export interface MeterReading {
  time: number;
  phase?: string;
  location?: string;
  fields: Record<string, number>;
}

export interface NormalisedMeterValues {
  readings: MeterReading[];
  /** Sampled values left out, with the reason (signed data, not a number, unit that does not fit). */
  skipped: Array<{ measurand: string; reason: string }>;
}

/** Normalises a list of meter values. Never throws on content the schema let through. */
export function normaliseMeterValues(values: readonly MeterValue[]): NormalisedMeterValues {
  const readings = new Map<string, MeterReading>();
  const skipped: NormalisedMeterValues['skipped'] = [];
  for (const mv of values) {
    const time = Date.parse(mv.timestamp);
    if (!Number.isFinite(time)) {
      skipped.push({ measurand: '*', reason: `timestamp ${JSON.stringify(mv.timestamp)} is not a date` });
      continue;
    }
    for (const sv of mv.sampledValue) {
      const measurand = sv.measurand ?? DEFAULT_MEASURAND;
      const result = normaliseSample(measurand, sv);
      if (typeof result === 'string') {
        skipped.push({ measurand, reason: result });
        continue;
      }
      const location = sv.location && sv.location !== 'Outlet' ? sv.location : undefined;
      const key = `${time}|${sv.phase ?? ''}|${location ?? ''}`;
      let reading = readings.get(key);
      if (!reading) readings.set(key, (reading = { time, phase: sv.phase, location, fields: {} }));
      reading.fields[result.field] = result.value;
    }
  }
  return { readings: [...readings.values()], skipped };
}

/** The field and base-unit value of one sample, or why it was left out. */
export function normaliseSample(measurand: string, sv: SampledValue): { field: string; value: number } | string {
  const target = METER_FIELDS[measurand];
  if (!target) return `unknown measurand ${measurand}`;
  if (sv.format === 'SignedData') return 'signed data is not decoded';
  const raw = typeof sv.value === 'number' ? sv.value : sv.value.trim() === '' ? NaN : Number(sv.value);
  if (!Number.isFinite(raw)) return `value ${JSON.stringify(sv.value)} is not a number`;
  const multiplier = sv.unitOfMeasure?.multiplier ?? 0;
  const scaled = multiplier === 0 ? raw : raw * 10 ** multiplier;
  if (!Number.isFinite(scaled)) return `value ${raw} × 10^${multiplier} is out of range`;
  const unitName = sv.unitOfMeasure?.unit ?? sv.unit;
  if (unitName === undefined) return { field: target.field, value: scaled };
  const unit = UNITS[unitName];
  // Power.Factor, RPM and custom units: keep the number when the unit is the field's own.
  if (!unit)
    return unitName === target.unit
      ? { field: target.field, value: scaled }
      : `unit ${unitName} does not fit ${measurand}`;
  if (unit.base !== target.unit) return `unit ${unitName} does not fit ${measurand}`;
  const value = round(unit.convert(scaled));
  return Number.isFinite(value) ? { field: target.field, value } : `value ${raw} ${unitName} is out of range`;
}

/** Removes binary floating-point noise from conversions (0.1 kWh × 1000 = 100.00000000000001). */
function round(v: number): number {
  const r = Math.round(v * 1e6) / 1e6;
  return Number.isFinite(r) ? r : v; // huge values have no noise worth removing
}

/** The energy register reading (Wh) of a list of meter values, with its time: for session accounting. */
export function energyRegister(values: readonly MeterValue[]): Array<{ time: number; wh: number }> {
  const out: Array<{ time: number; wh: number }> = [];
  for (const r of normaliseMeterValues(values).readings) {
    const wh = r.fields.energy_active_import_wh;
    if (wh !== undefined && r.phase === undefined) out.push({ time: r.time, wh });
  }
  return out;
}
