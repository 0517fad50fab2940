/**
 * What smart plugs say, and how to ask them. Pure: no I/O, so each rule is tested with recorded
 * payloads.
 *
 * Shelly Gen2 (HTTP RPC):  GET http://<address>/rpc/Switch.GetStatus?id=<switch>
 *   → {"id":0,"output":true,"apower":8.9,"voltage":229.4,"current":0.068,"pf":0.6,
 *      "aenergy":{"total":6532.1,...},"temperature":{"tC":23.5,"tF":74.4}}   (aenergy.total in Wh)
 *   GET http://<address>/rpc/Switch.Set?id=<switch>&on=true → {"was_on":false}
 *
 * Tasmota (MQTT, default FullTopic %prefix%/%topic%/):
 *   tele/<topic>/LWT     Online | Offline (retained; the broker sends Offline as the will)
 *   tele/<topic>/STATE   {"UptimeSec":3723,"POWER":"ON","Wifi":{"Signal":-61,...},...}
 *   tele/<topic>/SENSOR  {"ENERGY":{"Total":1.234,"Power":12,"Voltage":230,"Current":0.065,...}} (Total in kWh)
 *   cmnd/<topic>/POWER   ON | OFF  →  stat/<topic>/RESULT {"POWER":"ON"} and stat/<topic>/POWER ON
 */

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** One electrical reading, in the units `plug_power` stores. Absent values are undefined. */
export interface PowerReading {
  power_w?: number;
  energy_wh?: number;
  voltage_v?: number;
  current_a?: number;
  power_factor?: number;
  temperature_c?: number;
}

export interface ShellyStatus extends PowerReading {
  on: boolean;
}

export function shellyStatusUrl(address: string, switchId: number): string {
  return `http://${address}/rpc/Switch.GetStatus?id=${switchId}`;
}

export function shellySetUrl(address: string, switchId: number, on: boolean): string {
  return `http://${address}/rpc/Switch.Set?id=${switchId}&on=${on}`;
}

/** Parses a Switch.GetStatus answer; throws ProtocolError on anything that is not one. */
export function parseShellyStatus(text: string): ShellyStatus {
  const o = parseObject(text, 'Switch.GetStatus');
  if (typeof o.output !== 'boolean') throw new ProtocolError('Switch.GetStatus: "output" must be true or false');
  const energy = o.aenergy as { total?: unknown } | undefined;
  const temperature = o.temperature as { tC?: unknown } | undefined;
  return {
    on: o.output,
    power_w: num(o.apower),
    energy_wh: num(energy?.total),
    voltage_v: num(o.voltage),
    current_a: num(o.current),
    power_factor: num(o.pf),
    temperature_c: num(temperature?.tC),
  };
}

/** Parses a Switch.Set answer: whether the switch was on before. */
export function parseShellySet(text: string): { was_on: boolean } {
  const o = parseObject(text, 'Switch.Set');
  if (typeof o.was_on !== 'boolean') throw new ProtocolError('Switch.Set: "was_on" must be true or false');
  return { was_on: o.was_on };
}

// ---- Tasmota ----

export const TASMOTA_SUBSCRIPTIONS = ['tele/+/LWT', 'tele/+/STATE', 'tele/+/SENSOR', 'stat/+/RESULT', 'stat/+/POWER'];

export type TasmotaMessage =
  | { topic: string; type: 'lwt'; online: boolean }
  | { topic: string; type: 'state'; on?: boolean; rssi_dbm?: number; uptime_s?: number }
  | { topic: string; type: 'sensor'; reading: PowerReading }
  /** A power state the device reports after a command (or a button press). */
  | { topic: string; type: 'power'; on: boolean };

/**
 * Parses one MQTT message from a Tasmota device. Returns undefined for messages this plugin
 * does not use (other RESULT payloads); throws ProtocolError on a payload that is wrong.
 */
export function parseTasmota(mqttTopic: string, payload: string): TasmotaMessage | undefined {
  const [prefix, topic, kind, ...rest] = mqttTopic.split('/');
  if (!topic || !kind || rest.length > 0) throw new ProtocolError(`unexpected MQTT topic ${mqttTopic}`);
  if (prefix === 'tele' && kind === 'LWT') {
    if (payload !== 'Online' && payload !== 'Offline')
      throw new ProtocolError(`${mqttTopic}: expected Online or Offline`);
    return { topic, type: 'lwt', online: payload === 'Online' };
  }
  if (prefix === 'tele' && kind === 'STATE') {
    const o = parseObject(payload, mqttTopic);
    const wifi = o.Wifi as { Signal?: unknown } | undefined;
    const uptime = num(o.UptimeSec);
    return {
      topic,
      type: 'state',
      on: power(o.POWER ?? o.POWER1),
      rssi_dbm: num(wifi?.Signal),
      uptime_s: uptime === undefined ? undefined : Math.trunc(uptime),
    };
  }
  if (prefix === 'tele' && kind === 'SENSOR') {
    const energy = parseObject(payload, mqttTopic).ENERGY as Record<string, unknown> | undefined;
    if (!energy || typeof energy !== 'object') return undefined; // a sensor without a power meter
    const total = num(energy.Total);
    return {
      topic,
      type: 'sensor',
      reading: {
        power_w: num(energy.Power),
        energy_wh: total === undefined ? undefined : total * 1000,
        voltage_v: num(energy.Voltage),
        current_a: num(energy.Current),
        power_factor: num(energy.Factor),
      },
    };
  }
  if (prefix === 'stat' && kind === 'POWER') {
    const on = power(payload);
    if (on === undefined) throw new ProtocolError(`${mqttTopic}: expected ON or OFF`);
    return { topic, type: 'power', on };
  }
  if (prefix === 'stat' && kind === 'RESULT') {
    const on = power(parseObject(payload, mqttTopic).POWER);
    return on === undefined ? undefined : { topic, type: 'power', on };
  }
  return undefined;
}

export function tasmotaPowerCommand(topic: string, on: boolean): { topic: string; payload: string } {
  return { topic: `cmnd/${topic}/POWER`, payload: on ? 'ON' : 'OFF' };
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError(`${what}: answer is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ProtocolError(`${what}: answer is not a JSON object`);
  return value as Record<string, unknown>;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function power(v: unknown): boolean | undefined {
  if (v === 'ON' || v === 1) return true;
  if (v === 'OFF' || v === 0) return false;
  return undefined;
}
