/**
 * The agent uplink's wire format: JSON text frames over one WebSocket per agent
 * (`/agent/<agent id>`, `Authorization: Bearer <agent token>`). Pure: no I/O.
 *
 * agent → server
 *   {"t":"devices","devices":[{"id","kind","model"?,"firmware"?,"commands":{name:{description,params,timeout_s?}}}]}
 *       the devices this agent reaches and the commands each accepts (params: JSON Schema);
 *       sent after every (re)connect and whenever the list changes
 *   {"t":"batch","id":7,"lines":["host_cpu,device=pc-1 usage_pct=3.5 1700000000000", ...]}
 *       points, already line protocol with millisecond timestamps set at the edge
 *   {"t":"result","id":"<command id>","status":"succeeded"|"failed"|"rejected"|"timed_out",...}
 * server → agent
 *   {"t":"ack","id":7,"accepted":n,"refused":n,"reasons":{"identity":n,...}}  only after the
 *       accepted lines are committed to the server's spool; `reasons` counts the refused lines by
 *       reason (only non-zero ones; absent when none was refused). The agent deletes the batch
 *       from its outbox then, unless some were refused `spool_full` or `disk_full` (nothing of the
 *       batch is stored then: the server's disk is full); it sends the batch again later
 *   {"t":"command","id":"<command id>","device":"pc-1","name":"lock","params":{}}
 *
 * A batch that is acked twice (resent after a lost ack) is harmless: every line carries its own
 * timestamp, so InfluxDB stores the point once.
 */
/** Why the server refused a line of a batch (the ack's `reasons`). */
export type AckReason =
  | 'identity'
  | 'measurement'
  | 'field_type'
  | 'no_timestamp'
  | 'malformed'
  | 'foreign_device'
  | 'device_id'
  | 'not_admitted'
  | 'spool_full'
  | 'disk_full'
  | 'stopped';

export type CommandStatus = 'succeeded' | 'failed' | 'rejected' | 'timed_out' | 'cancelled' | 'expired';

export interface AnnouncedCommand {
  description: string;
  params: Record<string, unknown>;
  timeout_s?: number;
}

export interface AnnouncedDevice {
  id: string;
  kind: string;
  model?: string;
  firmware?: string;
  commands: Record<string, AnnouncedCommand>;
}

export type AgentMessage =
  | { t: 'devices'; devices: AnnouncedDevice[] }
  | { t: 'batch'; id: number; lines: string[] }
  | { t: 'result'; id: string; status: CommandStatus; result?: unknown; error?: string };

export type ServerMessage =
  | { t: 'ack'; id: number; accepted: number; refused: number; reasons?: Partial<Record<AckReason, number>> }
  | { t: 'command'; id: string; device: string; name: string; params: unknown };

export class UplinkProtocolError extends Error {
  override name = 'UplinkProtocolError';
}

const STATUSES = new Set(['succeeded', 'failed', 'rejected', 'timed_out', 'cancelled', 'expired']);

/** Parses one frame from an agent; throws UplinkProtocolError saying what is wrong. */
export function parseAgentMessage(text: string, maxLines: number): AgentMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    throw new UplinkProtocolError('frame is not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
    throw new UplinkProtocolError('frame is not a JSON object');
  const m = msg as Record<string, unknown>;
  switch (m.t) {
    case 'batch': {
      if (!Number.isSafeInteger(m.id)) throw new UplinkProtocolError('batch: "id" must be an integer');
      if (!Array.isArray(m.lines) || !m.lines.every((l) => typeof l === 'string'))
        throw new UplinkProtocolError('batch: "lines" must be an array of strings');
      if (m.lines.length > maxLines)
        throw new UplinkProtocolError(`batch: ${m.lines.length} lines, at most ${maxLines} allowed`);
      return { t: 'batch', id: m.id as number, lines: m.lines };
    }
    case 'result': {
      if (typeof m.id !== 'string') throw new UplinkProtocolError('result: "id" must be a string');
      if (typeof m.status !== 'string' || !STATUSES.has(m.status))
        throw new UplinkProtocolError(`result: unknown status ${JSON.stringify(m.status)}`);
      if (m.error !== undefined && typeof m.error !== 'string')
        throw new UplinkProtocolError('result: "error" must be a string');
      return {
        t: 'result',
        id: m.id,
        status: m.status as CommandStatus,
        result: m.result,
        error: m.error,
      };
    }
    case 'devices': {
      if (!Array.isArray(m.devices)) throw new UplinkProtocolError('devices: "devices" must be an array');
      return { t: 'devices', devices: m.devices.map(parseDevice) };
    }
    default:
      throw new UplinkProtocolError(`unknown message type ${JSON.stringify(m.t)}`);
  }
}

function parseDevice(d: unknown, i: number): AnnouncedDevice {
  const at = `devices[${i}]`;
  if (typeof d !== 'object' || d === null) throw new UplinkProtocolError(`${at} must be an object`);
  const r = d as Record<string, unknown>;
  if (typeof r.id !== 'string' || !r.id) throw new UplinkProtocolError(`${at}.id must be a non-empty string`);
  if (typeof r.kind !== 'string' || !r.kind) throw new UplinkProtocolError(`${at}.kind must be a non-empty string`);
  for (const k of ['model', 'firmware'] as const) {
    if (r[k] !== undefined && typeof r[k] !== 'string') throw new UplinkProtocolError(`${at}.${k} must be a string`);
  }
  // Entries, not assignments: a command an agent names `__proto__` stays a command name.
  const commands: [string, AnnouncedCommand][] = [];
  if (typeof r.commands !== 'object' || r.commands === null)
    throw new UplinkProtocolError(`${at}.commands must be an object`);
  for (const [name, c] of Object.entries(r.commands as Record<string, unknown>)) {
    const cr = c as Record<string, unknown> | null;
    if (typeof cr !== 'object' || cr === null || typeof cr.params !== 'object' || cr.params === null) {
      throw new UplinkProtocolError(`${at}.commands.${name}.params must be a JSON Schema object`);
    }
    if (cr.timeout_s !== undefined && (typeof cr.timeout_s !== 'number' || !(cr.timeout_s > 0))) {
      throw new UplinkProtocolError(`${at}.commands.${name}.timeout_s must be a positive number`);
    }
    commands.push([
      name,
      {
        description: typeof cr.description === 'string' ? cr.description : '',
        params: cr.params as Record<string, unknown>,
        timeout_s: cr.timeout_s,
      },
    ]);
  }
  return {
    id: r.id,
    kind: r.kind,
    model: r.model as string | undefined,
    firmware: r.firmware as string | undefined,
    commands: Object.fromEntries(commands),
  };
}

export function encode(message: AgentMessage | ServerMessage): string {
  return JSON.stringify(message);
}
