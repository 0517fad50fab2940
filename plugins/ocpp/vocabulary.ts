/**
 * One command vocabulary for operators, mapped to each OCPP version's action and payload, and
 * each answer mapped back to success, rejection or failure. Pure: no I/O.
 */
import { Type, type CommandSpec, type Static } from '../../collector/sdk/index.ts';
import type { OcppVersion } from './config.ts';
import { localListSpecs } from './local-list.ts';
import { reservationSpecs } from './reservations.ts';

const connector = Type.Integer({
  minimum: 0,
  description: 'Connector id (0 = the whole charger); in 2.0.1 the EVSE id',
});
const url = Type.String({ pattern: '^(https?|ftps?)://', maxLength: 512, description: 'http(s) or ftp(s) URL' });
const closed = { additionalProperties: false } as const;

export const commandSpecs = {
  reset: {
    description: 'Reboots the charger: soft (1.6 Soft / 2.0.1 OnIdle) or hard (1.6 Hard / 2.0.1 Immediate)',
    params: Type.Object(
      { type: Type.Union([Type.Literal('soft'), Type.Literal('hard')], { default: 'soft' }) },
      closed,
    ),
  },
  remote_start: {
    description: 'Starts a transaction for an id tag (RemoteStartTransaction / RequestStartTransaction)',
    params: Type.Object(
      { id_tag: Type.String({ minLength: 1, maxLength: 20 }), connector: Type.Optional(Type.Integer({ minimum: 1 })) },
      closed,
    ),
  },
  remote_stop: {
    description: 'Stops a transaction (RemoteStopTransaction / RequestStopTransaction)',
    params: Type.Object({ transaction_id: Type.String({ minLength: 1, maxLength: 36 }) }, closed),
  },
  unlock_connector: {
    description: "Unlocks a connector's cable",
    params: Type.Object(
      {
        connector: Type.Integer({ minimum: 1 }),
        evse: Type.Optional(Type.Integer({ minimum: 1, description: '2.0.1 EVSE id; default = connector' })),
      },
      closed,
    ),
  },
  change_availability: {
    description: 'Takes a connector (0 = whole charger) in or out of service',
    params: Type.Object({ connector, available: Type.Boolean() }, closed),
  },
  get_config: {
    description:
      'Reads configuration keys (GetConfiguration; 2.0.1 GetVariables with keys "Component.Variable", or GetBaseReport when no keys are given)',
    params: Type.Object(
      { keys: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })) },
      closed,
    ),
  },
  set_config: {
    description:
      'Changes one configuration key (ChangeConfiguration; 2.0.1 SetVariables with key "Component.Variable")',
    params: Type.Object(
      { key: Type.String({ minLength: 1, maxLength: 100 }), value: Type.String({ maxLength: 500 }) },
      closed,
    ),
  },
  trigger_message: {
    description: 'Asks the charger to send a message now',
    params: Type.Object(
      {
        message: Type.Union(
          [
            'BootNotification',
            'Heartbeat',
            'StatusNotification',
            'MeterValues',
            'FirmwareStatusNotification',
            'DiagnosticsStatusNotification',
            'LogStatusNotification',
          ].map((m) => Type.Literal(m)),
        ),
        connector: Type.Optional(Type.Integer({ minimum: 1 })),
      },
      closed,
    ),
  },
  update_firmware: {
    description: 'Has the charger download and install firmware from a URL (no loopback, link-local or file: URLs)',
    params: Type.Object(
      {
        location: url,
        retrieve_at: Type.Optional(Type.String({ format: 'date-time', description: 'Not before; default now' })),
        retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
        retry_interval_s: Type.Optional(Type.Integer({ minimum: 0 })),
      },
      closed,
    ),
    timeout_s: 60,
  },
  get_diagnostics: {
    description: 'Has the charger upload its diagnostics / log to a URL (GetDiagnostics / GetLog)',
    params: Type.Object(
      {
        location: url,
        start_time: Type.Optional(Type.String({ format: 'date-time' })),
        stop_time: Type.Optional(Type.String({ format: 'date-time' })),
      },
      closed,
    ),
    timeout_s: 60,
  },
  clear_cache: { description: "Clears the charger's authorization cache", params: Type.Object({}, closed) },
  ...localListSpecs,
  ...reservationSpecs,
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof commandSpecs;
/** Commands built from the station's records when sent (station-commands.ts), not by `toCall`. */
export const STATION_COMMANDS: ReadonlySet<string> = new Set([
  ...Object.keys(localListSpecs),
  ...Object.keys(reservationSpecs),
]);
export type StatelessCommand = Exclude<CommandName, keyof typeof localListSpecs | keyof typeof reservationSpecs>;
type Params<N extends CommandName> = Static<(typeof commandSpecs)[N]['params']>;

/** A call to send, and how to read its answer. */
export interface OcppCall {
  action: string;
  payload: Record<string, unknown>;
  /** Reads the answer: `ok` → result, `rejected` / `failed` → the command ends so. */
  interpret(answer: Record<string, unknown>): {
    outcome: 'ok' | 'rejected' | 'failed';
    result: unknown;
    reason?: string;
  };
}

/** An id for requestId / remoteStartId fields (2.0.1 integers), stable for a command id. */
export function requestIdOf(commandId: string): number {
  let h = 0;
  for (let i = 0; i < commandId.length; i++) h = (Math.imul(h, 31) + commandId.charCodeAt(i)) | 0;
  return Math.abs(h) % 2_000_000_000;
}

/** "Component.Variable" or "Component.Variable.Instance" → the 2.0.1 structures. */
export function componentVariable(key: string): {
  component: { name: string };
  variable: { name: string; instance?: string };
} {
  const [component, variable, instance] = key.split('.');
  if (!variable) return { component: { name: key }, variable: { name: key } };
  return { component: { name: component }, variable: instance ? { name: variable, instance } : { name: variable } };
}

/** Answers whose `status` says the device did it. */
const OK = new Set(['Accepted', 'Unlocked', 'Scheduled', 'RebootRequired', 'AcceptedCanceled']);
/** Answers that say the device tried and could not. */
const FAILED = new Set(['UnlockFailed', 'Failed']);

function byStatus(status: unknown, result: unknown): ReturnType<OcppCall['interpret']> {
  const s = String(status);
  if (OK.has(s)) return { outcome: 'ok', result };
  return { outcome: FAILED.has(s) ? 'failed' : 'rejected', result, reason: s };
}

const statusOf = (a: Record<string, unknown>) => byStatus(a.status, a);

/** Maps a validated command to the call of the charger's version. */
export function toCall(version: OcppVersion, name: CommandName, params: unknown, commandId: string): OcppCall {
  const v16 = version === 'ocpp1.6';
  switch (name) {
    case 'reset': {
      const p = params as Params<'reset'>;
      const type = v16 ? (p.type === 'hard' ? 'Hard' : 'Soft') : p.type === 'hard' ? 'Immediate' : 'OnIdle';
      return { action: 'Reset', payload: { type }, interpret: statusOf };
    }
    case 'remote_start': {
      const p = params as Params<'remote_start'>;
      if (v16)
        return {
          action: 'RemoteStartTransaction',
          payload: { idTag: p.id_tag, ...(p.connector ? { connectorId: p.connector } : {}) },
          interpret: statusOf,
        };
      return {
        action: 'RequestStartTransaction',
        payload: {
          idToken: { idToken: p.id_tag, type: 'ISO14443' },
          remoteStartId: requestIdOf(commandId),
          ...(p.connector ? { evseId: p.connector } : {}),
        },
        interpret: statusOf,
      };
    }
    case 'remote_stop': {
      const p = params as Params<'remote_stop'>;
      if (v16) {
        const id = Number(p.transaction_id);
        if (!Number.isInteger(id)) return refuse(`ocpp1.6 transaction ids are integers, got "${p.transaction_id}"`);
        return { action: 'RemoteStopTransaction', payload: { transactionId: id }, interpret: statusOf };
      }
      return { action: 'RequestStopTransaction', payload: { transactionId: p.transaction_id }, interpret: statusOf };
    }
    case 'unlock_connector': {
      const p = params as Params<'unlock_connector'>;
      const payload = v16
        ? { connectorId: p.connector }
        : { evseId: p.evse ?? p.connector, connectorId: p.evse ? p.connector : 1 };
      return { action: 'UnlockConnector', payload, interpret: statusOf };
    }
    case 'change_availability': {
      const p = params as Params<'change_availability'>;
      if (v16)
        return {
          action: 'ChangeAvailability',
          payload: { connectorId: p.connector, type: p.available ? 'Operative' : 'Inoperative' },
          interpret: statusOf,
        };
      const operationalStatus = p.available ? 'Operative' : 'Inoperative';
      return {
        action: 'ChangeAvailability',
        payload: { operationalStatus, ...(p.connector > 0 ? { evse: { id: p.connector } } : {}) },
        interpret: statusOf,
      };
    }
    case 'get_config': {
      const p = params as Params<'get_config'>;
      if (v16)
        return {
          action: 'GetConfiguration',
          payload: p.keys?.length ? { key: p.keys } : {},
          interpret: (a) => ({ outcome: 'ok', result: a }),
        };
      if (!p.keys?.length)
        return {
          action: 'GetBaseReport',
          payload: { requestId: requestIdOf(commandId), reportBase: 'FullInventory' },
          interpret: statusOf,
        };
      return {
        action: 'GetVariables',
        payload: { getVariableData: p.keys.map(componentVariable) },
        interpret: (a) => ({ outcome: 'ok', result: a }),
      };
    }
    case 'set_config': {
      const p = params as Params<'set_config'>;
      if (v16) return { action: 'ChangeConfiguration', payload: { key: p.key, value: p.value }, interpret: statusOf };
      return {
        action: 'SetVariables',
        payload: { setVariableData: [{ ...componentVariable(p.key), attributeValue: p.value }] },
        interpret: (a) => {
          const first = (a.setVariableResult as Array<{ attributeStatus: string }> | undefined)?.[0];
          return byStatus(first?.attributeStatus, a);
        },
      };
    }
    case 'trigger_message': {
      const p = params as Params<'trigger_message'>;
      // The diagnostics upload status has a different name in each version.
      let requestedMessage: string = p.message;
      if (v16 && p.message === 'LogStatusNotification') requestedMessage = 'DiagnosticsStatusNotification';
      if (!v16 && p.message === 'DiagnosticsStatusNotification') requestedMessage = 'LogStatusNotification';
      if (v16)
        return {
          action: 'TriggerMessage',
          payload: { requestedMessage, ...(p.connector ? { connectorId: p.connector } : {}) },
          interpret: statusOf,
        };
      return {
        action: 'TriggerMessage',
        payload: { requestedMessage, ...(p.connector ? { evse: { id: p.connector } } : {}) },
        interpret: statusOf,
      };
    }
    case 'update_firmware': {
      const p = params as Params<'update_firmware'>;
      const retrieve = p.retrieve_at ?? new Date().toISOString();
      const retry = {
        ...(p.retries !== undefined ? { retries: p.retries } : {}),
        ...(p.retry_interval_s !== undefined ? { retryInterval: p.retry_interval_s } : {}),
      };
      // 1.6 UpdateFirmware.conf is empty: being answered at all is the acceptance.
      if (v16)
        return {
          action: 'UpdateFirmware',
          payload: { location: p.location, retrieveDate: retrieve, ...retry },
          interpret: (a) => ({ outcome: 'ok', result: a }),
        };
      return {
        action: 'UpdateFirmware',
        payload: {
          requestId: requestIdOf(commandId),
          firmware: { location: p.location, retrieveDateTime: retrieve },
          ...retry,
        },
        interpret: statusOf,
      };
    }
    case 'get_diagnostics': {
      const p = params as Params<'get_diagnostics'>;
      if (v16) {
        const payload = {
          location: p.location,
          ...(p.start_time ? { startTime: p.start_time } : {}),
          ...(p.stop_time ? { stopTime: p.stop_time } : {}),
        };
        return { action: 'GetDiagnostics', payload, interpret: (a) => ({ outcome: 'ok', result: a }) };
      }
      const log = {
        remoteLocation: p.location,
        ...(p.start_time ? { oldestTimestamp: p.start_time } : {}),
        ...(p.stop_time ? { latestTimestamp: p.stop_time } : {}),
      };
      return {
        action: 'GetLog',
        payload: { logType: 'DiagnosticsLog', requestId: requestIdOf(commandId), log },
        interpret: statusOf,
      };
    }
    case 'clear_cache':
      return { action: 'ClearCache', payload: {}, interpret: statusOf };
    default:
      // Commands built from the station's records (local lists, reservations): station-commands.ts.
      return refuse(`${name} needs the station's records`);
  }
}

/** A call that is never sent: its `action` is empty and `interpret` explains why. */
export function refuse(reason: string): OcppCall {
  return { action: '', payload: {}, interpret: () => ({ outcome: 'rejected', result: undefined, reason }) };
}

/** Chargers also fetch and upload over FTP (diagnostics, logs, firmware in OCPP 1.6). */
export const CHARGER_URL_PROTOCOLS = ['http:', 'https:', 'ftp:', 'ftps:'];
