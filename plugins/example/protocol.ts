/**
 * The example sensor's protocol: JSON text frames over a WebSocket. Pure: no I/O, so every rule
 * is tested with plain strings.
 *
 * sensor → server  {"type":"reading","t":<epoch ms>,"temperature_c":21.5,"humidity_pct":40,"uptime_s":12}
 *                  {"type":"result","id":"<command id>","ok":true,"result":{...}}
 *                | {"type":"result","id":"..","ok":false,"error":".."}
 * server → sensor  {"type":"command","id":"<command id>","name":"ping"|"set_interval","params":{...}}
 */
export interface Reading {
  type: 'reading';
  t: number;
  temperature_c?: number;
  humidity_pct?: number;
  uptime_s?: number;
}

export interface CommandResult {
  type: 'result';
  id: string;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export type SensorMessage = Reading | CommandResult;

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

const NUMERIC = ['temperature_c', 'humidity_pct', 'uptime_s'] as const;

/** Parses one frame; throws ProtocolError saying what is wrong. */
export function parseMessage(text: string): SensorMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    throw new ProtocolError('frame is not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
    throw new ProtocolError('frame is not a JSON object');
  const m = msg as Record<string, unknown>;
  if (m.type === 'reading') {
    if (typeof m.t !== 'number' || !Number.isInteger(m.t) || m.t <= 0)
      throw new ProtocolError('reading.t must be epoch milliseconds');
    for (const key of NUMERIC) {
      if (m[key] !== undefined && (typeof m[key] !== 'number' || !Number.isFinite(m[key]))) {
        throw new ProtocolError(`reading.${key} must be a finite number`);
      }
    }
    if (m.uptime_s !== undefined && !Number.isInteger(m.uptime_s))
      throw new ProtocolError('reading.uptime_s must be an integer');
    return m as unknown as Reading;
  }
  if (m.type === 'result') {
    if (typeof m.id !== 'string' || typeof m.ok !== 'boolean')
      throw new ProtocolError('result needs a string id and a boolean ok');
    return m as unknown as CommandResult;
  }
  throw new ProtocolError(`unknown message type ${JSON.stringify(m.type)}`);
}

export function commandFrame(id: string, name: string, params: unknown): string {
  return JSON.stringify({ type: 'command', id, name, params });
}
