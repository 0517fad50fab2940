/**
 * One command vocabulary for operators, mapped to each OCPP version's action and payload, and
 * each answer mapped back to success, rejection or failure. Pure: no I/O.
 */
import { Type, type CommandSpec, type Static } from '../../collector/sdk/index.ts';
import type { OcppVersion } from './config.ts';
import {
  ChargingProfile,
  clearProfilePayload,
  compositePayload,
  getProfilesPayload,
  ocppProfile,
  setProfilePayload,
  smartChargingSpecs,
} from './smart-charging.ts';
import { authorizationKey } from './rotation.ts';
import { firmwareSignature, securityCall, securityCommands, signedFirmware } from './security-vocabulary.ts';
import { localListSpecs } from './local-list.ts';
import type { OcppCall } from './ocpp-call.ts';
import { reservationSpecs } from './reservations.ts';
import { baseReportPayload, deviceModelSpecs, reportPayload } from './device-model.ts';
import {
  clearRefusals,
  monitoringRefusals,
  monitoringReportPayload,
  monitoringSpecs,
  setMonitoringPayload,
} from './monitoring.ts';
import { networkProfilePayload, networkProfileSpecs } from './network-profile.ts';
import { publishingCall, publishingSpecs } from './firmware-publishing.ts';
import { displayCall, displayMessageSpecs } from './display-messages.ts';
import { customerInformationCall, customerInformationSpecs } from './customer-information.ts';
import { dataTransferCall, dataTransferSpecs } from './data-transfer.ts';
import { triggerCall, triggerSpecs, type TriggerParams } from './triggers.ts';

const connector = Type.Integer({
  minimum: 0,
  description: 'Connector id (0 = the whole charger); in 2.0.1 the EVSE id',
});
const evse = Type.Integer({
  minimum: 1,
  description: '2.0.1 EVSE id; connector is then the connector of that EVSE (0 = the whole EVSE)',
});
const url = Type.String({ pattern: '^(https?|ftps?)://', maxLength: 512, description: 'http(s) or ftp(s) URL' });
const closed = { additionalProperties: false } as const;

export const commandSpecs = {
  reset: {
    description:
      'Reboots the charger, or (2.0.1) one EVSE: soft = on_idle (1.6 Soft / 2.0.1 OnIdle), hard = immediate (1.6 Hard / 2.0.1 Immediate)',
    params: Type.Object(
      {
        type: Type.Union(
          ['soft', 'hard', 'on_idle', 'immediate'].map((t) => Type.Literal(t)),
          { default: 'soft' },
        ),
        evse: Type.Optional(Type.Integer({ minimum: 1, description: '2.0.1 only: reset this EVSE, not the station' })),
      },
      closed,
    ),
  },
  remote_start: {
    description: 'Starts a transaction for an id tag (RemoteStartTransaction / RequestStartTransaction)',
    params: Type.Object(
      {
        id_tag: Type.String({ minLength: 1, maxLength: 20 }),
        connector: Type.Optional(Type.Integer({ minimum: 1 })),
        charging_profile: Type.Optional(ChargingProfile),
      },
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
        evse: Type.Optional(
          Type.Integer({ minimum: 1, description: '2.0.1 EVSE id (connector 1 of EVSE <connector> when absent)' }),
        ),
      },
      closed,
    ),
  },
  change_availability: {
    description:
      'Takes a connector (0 = whole charger) in or out of service; in 2.0.1 an EVSE, or one connector of it with evse',
    params: Type.Object({ connector, available: Type.Boolean(), evse: Type.Optional(evse) }, closed),
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
      'Changes configuration keys: key and value, or values {key: value} (ChangeConfiguration each; 2.0.1 SetVariables with keys "Component.Variable", as many per request as the charger takes)',
    params: Type.Object(
      {
        key: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
        value: Type.Optional(Type.String({ maxLength: 500 })),
        values: Type.Optional(
          Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Type.String({ maxLength: 500 }), {
            minProperties: 1,
            maxProperties: 50,
          }),
        ),
      },
      closed,
    ),
  },
  ...triggerSpecs,
  update_firmware: {
    description: 'Has the charger download and install firmware from a URL (no loopback, link-local or file: URLs)',
    params: Type.Object(
      {
        location: url,
        retrieve_at: Type.Optional(Type.String({ format: 'date-time', description: 'Not before; default now' })),
        install_at: Type.Optional(
          Type.String({
            format: 'date-time',
            description: 'Install not before (2.0.1, 1.6 signed firmware installDateTime); default once downloaded',
          }),
        ),
        retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
        retry_interval_s: Type.Optional(Type.Integer({ minimum: 0 })),
        ...signedFirmware,
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
  get_transaction_status: {
    description:
      'Asks a 2.0.1 charger whether a transaction goes on and whether it still queues messages (GetTransactionStatus)',
    params: Type.Object(
      { transaction_id: Type.Optional(Type.String({ minLength: 1, maxLength: 36, description: 'Default: any' })) },
      closed,
    ),
  },
  ...smartChargingSpecs,
  rotate_password: {
    description:
      'Gives the charger a new password (1.6 AuthorizationKey, hex-encoded; 2.0.1 BasicAuthPassword); the old one works until the charger has connected with the new one',
    params: Type.Object({}, closed),
  },
  ...securityCommands(url),
  ...publishingSpecs(url),
  ...displayMessageSpecs,
  ...customerInformationSpecs,
  ...dataTransferSpecs,
  set_security_profile: {
    description:
      'Raises the security profile (2 = wss:// + password, 3 = wss:// + client certificate); once Accepted, lower ones are refused at the handshake',
    params: Type.Object({ profile: Type.Union([Type.Literal(2), Type.Literal(3)]) }, closed),
  },
  ...localListSpecs,
  ...reservationSpecs,
  ...deviceModelSpecs,
  ...monitoringSpecs,
  ...networkProfileSpecs,
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof commandSpecs;
/** Commands built from the station's records when sent (station-commands.ts), not by `toCall`. */
export const STATION_COMMANDS: ReadonlySet<string> = new Set([
  ...Object.keys(localListSpecs),
  ...Object.keys(reservationSpecs),
]);
export type StatelessCommand = Exclude<CommandName, keyof typeof localListSpecs | keyof typeof reservationSpecs>;
type Params<N extends CommandName> = Static<(typeof commandSpecs)[N]['params']>;

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
      if (v16 && p.evse !== undefined) return refuse(NO_EVSE_16);
      const hard = p.type === 'hard' || p.type === 'immediate';
      const type = v16 ? (hard ? 'Hard' : 'Soft') : hard ? 'Immediate' : 'OnIdle';
      return { action: 'Reset', payload: { type, ...(p.evse ? { evseId: p.evse } : {}) }, interpret: statusOf };
    }
    case 'remote_start': {
      const p = params as Params<'remote_start'>;
      // The charger gives the transaction its id: a profile sent with the start names none.
      if (p.charging_profile && (p.charging_profile.purpose !== 'tx' || p.charging_profile.transaction_id))
        return refuse('charging_profile of remote_start must have purpose tx and no transaction_id');
      const profile = p.charging_profile && ocppProfile(version, p.charging_profile);
      const chargingProfile = profile ? { chargingProfile: profile } : {};
      if (v16)
        return {
          action: 'RemoteStartTransaction',
          payload: { idTag: p.id_tag, ...(p.connector ? { connectorId: p.connector } : {}), ...chargingProfile },
          interpret: statusOf,
        };
      return {
        action: 'RequestStartTransaction',
        payload: {
          idToken: { idToken: p.id_tag, type: 'ISO14443' },
          remoteStartId: requestIdOf(commandId),
          ...(p.connector ? { evseId: p.connector } : {}),
          ...chargingProfile,
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
      if (v16 && p.evse !== undefined) return refuse(NO_EVSE_16);
      const payload = v16
        ? { connectorId: p.connector }
        : { evseId: p.evse ?? p.connector, connectorId: p.evse ? p.connector : 1 };
      return { action: 'UnlockConnector', payload, interpret: statusOf };
    }
    case 'change_availability': {
      const p = params as Params<'change_availability'>;
      if (v16 && p.evse !== undefined) return refuse(NO_EVSE_16);
      if (v16)
        return {
          action: 'ChangeAvailability',
          payload: { connectorId: p.connector, type: p.available ? 'Operative' : 'Inoperative' },
          interpret: statusOf,
        };
      const operationalStatus = p.available ? 'Operative' : 'Inoperative';
      return {
        action: 'ChangeAvailability',
        payload: { operationalStatus, ...evseOf(p) },
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
      const entries = configEntries(params as Params<'set_config'>);
      const guarded = guardedKeyRefusal(entries);
      if (guarded) return refuse(guarded);
      // Several keys are sent in parts (variable-batches.ts): here only one.
      if (entries.length !== 1) return refuse('give key and value, or values with at least one key');
      return setConfig(v16, ...entries[0]);
    }
    case 'trigger_message': {
      const call = triggerCall(version, params as TriggerParams);
      return typeof call === 'string' ? refuse(call) : { ...call, interpret: statusOf };
    }
    case 'update_firmware': {
      const p = params as Params<'update_firmware'>;
      const retrieve = p.retrieve_at ?? new Date().toISOString();
      const signed = firmwareSignature(p);
      if (typeof signed === 'string') return refuse(signed);
      const install = p.install_at ? { installDateTime: p.install_at } : {};
      if (v16 && !signed && p.install_at)
        return refuse('1.6 UpdateFirmware has no install time: leave install_at out, or send signed firmware');
      const retry = {
        ...(p.retries !== undefined ? { retries: p.retries } : {}),
        ...(p.retry_interval_s !== undefined ? { retryInterval: p.retry_interval_s } : {}),
      };
      // Signed firmware (security whitepaper): 1.6 has its own message, 2.0.1 two more fields.
      if (v16 && signed)
        return {
          action: 'SignedUpdateFirmware',
          payload: {
            requestId: requestIdOf(commandId),
            firmware: { location: p.location, retrieveDateTime: retrieve, ...install, ...signed },
            ...retry,
          },
          interpret: statusOf,
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
          firmware: { location: p.location, retrieveDateTime: retrieve, ...install, ...signed },
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
      return toCall(version, 'get_log', { type: 'diagnostics', ...p }, commandId);
    }
    case 'clear_cache':
      return { action: 'ClearCache', payload: {}, interpret: statusOf };
    case 'get_transaction_status': {
      const p = params as Params<'get_transaction_status'>;
      if (v16) return refuse('GetTransactionStatus is OCPP 2.0.1 only');
      return {
        action: 'GetTransactionStatus',
        payload: p.transaction_id ? { transactionId: p.transaction_id } : {},
        interpret: (a) => ({ outcome: 'ok', result: a }),
      };
    }
    case 'set_charging_profile': {
      const payload = setProfilePayload(version, params as Params<'set_charging_profile'>);
      if (typeof payload === 'string') return refuse(payload);
      return { action: 'SetChargingProfile', payload, interpret: statusOf };
    }
    case 'clear_charging_profile': {
      const payload = clearProfilePayload(version, params as Params<'clear_charging_profile'>);
      // 1.6 Unknown: nothing matched; the charger holds no such profile, which is what was asked.
      return { action: 'ClearChargingProfile', payload, interpret: (a) => byStatus(a.status, a) };
    }
    case 'get_composite_schedule':
      return {
        action: 'GetCompositeSchedule',
        payload: compositePayload(version, params as Params<'get_composite_schedule'>),
        interpret: statusOf,
      };
    case 'get_charging_profiles': {
      if (v16) return refuse('GetChargingProfiles is OCPP 2.0.1 only (1.6: get_composite_schedule)');
      const payload = getProfilesPayload(params as Params<'get_charging_profiles'>, requestIdOf(commandId));
      // NoProfiles is an answer, not a refusal: the charger holds none that match.
      return {
        action: 'GetChargingProfiles',
        payload,
        interpret: (a) => (a.status === 'NoProfiles' ? { outcome: 'ok', result: a } : byStatus(a.status, a)),
      };
    }
    case 'get_base_report':
      if (v16) return refuse('GetBaseReport is OCPP 2.0.1 only (1.6: get_config)');
      return {
        action: 'GetBaseReport',
        payload: baseReportPayload(params as Params<'get_base_report'>, requestIdOf(commandId)),
        interpret: reportStatus,
      };
    case 'get_report':
      if (v16) return refuse('GetReport is OCPP 2.0.1 only (1.6: get_config)');
      return {
        action: 'GetReport',
        payload: reportPayload(params as Params<'get_report'>, requestIdOf(commandId)),
        interpret: reportStatus,
      };
    case 'set_variable_monitoring':
      if (v16) return refuse('SetVariableMonitoring is OCPP 2.0.1 only');
      return {
        action: 'SetVariableMonitoring',
        payload: setMonitoringPayload(params as Params<'set_variable_monitoring'>),
        interpret: (a) => {
          const refused = monitoringRefusals(a);
          return refused ? { outcome: 'rejected', result: a, reason: refused } : { outcome: 'ok', result: a };
        },
      };
    case 'clear_variable_monitoring':
      if (v16) return refuse('ClearVariableMonitoring is OCPP 2.0.1 only');
      return {
        action: 'ClearVariableMonitoring',
        payload: { id: (params as Params<'clear_variable_monitoring'>).ids },
        interpret: (a) => {
          // NotFound: the charger runs no such monitor, which is what was asked.
          const refused = clearRefusals(a);
          return refused ? { outcome: 'rejected', result: a, reason: refused } : { outcome: 'ok', result: a };
        },
      };
    case 'set_monitoring_base':
      if (v16) return refuse('SetMonitoringBase is OCPP 2.0.1 only');
      return {
        action: 'SetMonitoringBase',
        payload: { monitoringBase: (params as Params<'set_monitoring_base'>).base },
        interpret: statusOf,
      };
    case 'set_monitoring_level':
      if (v16) return refuse('SetMonitoringLevel is OCPP 2.0.1 only');
      return {
        action: 'SetMonitoringLevel',
        payload: { severity: (params as Params<'set_monitoring_level'>).severity },
        interpret: statusOf,
      };
    case 'get_monitoring_report':
      if (v16) return refuse('GetMonitoringReport is OCPP 2.0.1 only');
      return {
        action: 'GetMonitoringReport',
        payload: monitoringReportPayload(params as Params<'get_monitoring_report'>, requestIdOf(commandId)),
        interpret: reportStatus,
      };
    case 'set_network_profile':
      if (v16) return refuse('SetNetworkProfile is OCPP 2.0.1 only (1.6 has no network profiles)');
      return {
        action: 'SetNetworkProfile',
        payload: networkProfilePayload(params as Params<'set_network_profile'>),
        interpret: statusOf,
      };
    case 'rotate_password': {
      // The password is issued where the call is sent (rotation.ts), never stored in the command.
      const { password } = params as { password: string };
      return v16
        ? setConfig(v16, 'AuthorizationKey', authorizationKey(password))
        : setConfig(v16, 'SecurityCtrlr.BasicAuthPassword', password);
    }
    case 'install_certificate':
    case 'get_installed_certificates':
    case 'delete_certificate':
    case 'get_log': {
      const call = securityCall(v16, name, params, requestIdOf(commandId));
      if ('refused' in call) return refuse(call.refused);
      const interpret = call.anyStatus
        ? (a: Record<string, unknown>) => ({ outcome: 'ok' as const, result: a })
        : statusOf;
      return { action: call.action, payload: call.payload, interpret };
    }
    case 'publish_firmware':
    case 'unpublish_firmware': {
      const call = publishingCall(v16, name, params, requestIdOf(commandId));
      if (typeof call === 'string') return refuse(call);
      // Unpublished is unpublish_firmware's success; NoFirmware and DownloadOngoing say why not.
      const interpret = (a: Record<string, unknown>) => byStatus(a.status === 'Unpublished' ? 'Accepted' : a.status, a);
      return { ...call, interpret };
    }
    case 'set_display_message':
    case 'get_display_messages':
    case 'clear_display_message': {
      const call = displayCall(v16, name, params, requestIdOf(commandId));
      if (typeof call === 'string') return refuse(call);
      // Unknown: no message matches (get) or none has that id (clear), which is an answer.
      const interpret = (a: Record<string, unknown>) =>
        a.status === 'Unknown' && name === 'get_display_messages' ? { outcome: 'ok' as const, result: a } : statusOf(a);
      return { ...call, interpret };
    }
    case 'customer_information': {
      const requestId = requestIdOf(commandId);
      const call = customerInformationCall(v16, params, requestId);
      if (typeof call === 'string') return refuse(call);
      // The report follows in parts: its request_id is where to read it.
      return { ...call, interpret: (a) => byStatus(a.status, { ...a, request_id: requestId }) };
    }
    case 'data_transfer': {
      const call = dataTransferCall(v16, params);
      return typeof call === 'string' ? refuse(call) : { ...call, interpret: statusOf };
    }
    case 'set_security_profile': {
      const p = params as Params<'set_security_profile'>;
      return setConfig(v16, v16 ? 'SecurityProfile' : 'SecurityCtrlr.SecurityProfile', String(p.profile));
    }
    default:
      // Commands built from the station's records (local lists, reservations): station-commands.ts.
      return refuse(`${name} needs the station's records`);
  }
}

const NO_EVSE_16 = 'OCPP 1.6 has no EVSEs: leave evse out (1.6 addresses connectors, or the whole charger)';

/** 2.0.1 `evse` of change_availability: without `evse`, `connector` is the EVSE id (as before EVSEs were named). */
function evseOf(p: { connector: number; evse?: number }): { evse?: { id: number; connectorId?: number } } {
  if (p.evse !== undefined) return { evse: { id: p.evse, ...(p.connector > 0 ? { connectorId: p.connector } : {}) } };
  return p.connector > 0 ? { evse: { id: p.connector } } : {};
}

/** Keys whose change the plugin must follow (handshake checks): never sent by set_config. */
const GUARDED_KEYS = new Set(
  ['SecurityProfile', 'SecurityCtrlr.SecurityProfile', 'AuthorizationKey', 'SecurityCtrlr.BasicAuthPassword'].map((k) =>
    k.toLowerCase(),
  ),
);

/** Why set_config may not send these keys, if it may not. */
export function guardedKeyRefusal(entries: Array<[string, string]>): string | undefined {
  const guarded = entries.find(([key]) => GUARDED_KEYS.has(key.toLowerCase()));
  if (guarded)
    return `${guarded[0]} is changed by set_security_profile or rotate_password, which keep the inventory in step`;
}

/** The keys and values of a set_config, in the order given. */
export function configEntries(p: Params<'set_config'>): Array<[string, string]> {
  const one: Array<[string, string]> = p.key !== undefined && p.value !== undefined ? [[p.key, p.value]] : [];
  return [...one, ...Object.entries(p.values ?? {})];
}

/** A report request answered: EmptyResultSet says nothing matched, which is an answer too. */
const reportStatus = (a: Record<string, unknown>) =>
  a.status === 'EmptyResultSet' ? { outcome: 'ok' as const, result: a } : byStatus(a.status, a);

/** ChangeConfiguration (1.6) or SetVariables of one "Component.Variable" (2.0.1). */
export function setConfig(v16: boolean, key: string, value: string): OcppCall {
  if (v16) return { action: 'ChangeConfiguration', payload: { key, value }, interpret: statusOf };
  return {
    action: 'SetVariables',
    payload: { setVariableData: [{ ...componentVariable(key), attributeValue: value }] },
    interpret: (a) => {
      const first = (a.setVariableResult as Array<{ attributeStatus: string }> | undefined)?.[0];
      return byStatus(first?.attributeStatus, a);
    },
  };
}

/** A call that is never sent: its `action` is empty and `interpret` explains why. */
export function refuse(reason: string): OcppCall {
  return { action: '', payload: {}, interpret: () => ({ outcome: 'rejected', result: undefined, reason }) };
}

/** Chargers also fetch and upload over FTP (diagnostics, logs, firmware in OCPP 1.6). */
export const CHARGER_URL_PROTOCOLS = ['http:', 'https:', 'ftp:', 'ftps:'];
