/**
 * trigger_message: the messages a charger can be asked to send now, per version (1.6
 * TriggerMessage and the security whitepaper's ExtendedTriggerMessage, 2.0.1 TriggerMessage),
 * under their own names and two version-neutral ones. Pure: no I/O.
 */
import { Type, type CommandSpec, type Static } from '../../collector/sdk/index.ts';
import type { OcppVersion } from './config.ts';

/** The requestedMessage values of each version's schema (ocpp-rpc's bundled ones). */
const CORE_16 = [
  'BootNotification',
  'DiagnosticsStatusNotification',
  'FirmwareStatusNotification',
  'Heartbeat',
  'MeterValues',
  'StatusNotification',
];
const EXTENDED_16 = ['LogStatusNotification', 'SignChargePointCertificate'];
const V201 = [
  'BootNotification',
  'LogStatusNotification',
  'FirmwareStatusNotification',
  'Heartbeat',
  'MeterValues',
  'SignChargingStationCertificate',
  'SignV2GCertificate',
  'StatusNotification',
  'TransactionEvent',
  'SignCombinedCertificate',
  'PublishFirmwareStatusNotification',
];
/** SignCertificate: the charger's own CSR in either version; each version's upload status in the other's name. */
const NEUTRAL = ['SignCertificate'];

/** What an operator may ask a charger of each version for. */
export const TRIGGERS: Record<OcppVersion, readonly string[]> = {
  'ocpp1.6': [...CORE_16, ...EXTENDED_16, ...NEUTRAL],
  'ocpp2.0.1': [...V201, 'DiagnosticsStatusNotification', ...NEUTRAL],
};

const closed = { additionalProperties: false } as const;
const every = [...new Set([...TRIGGERS['ocpp1.6'], ...TRIGGERS['ocpp2.0.1']])];

export const triggerSpecs = {
  trigger_message: {
    description:
      'Asks the charger to send a message now (TriggerMessage; 1.6 ExtendedTriggerMessage where the whitepaper has it). ' +
      'A message of the other version only is refused before sending, with the ones the charger allows',
    params: Type.Object(
      {
        message: Type.Union(every.map((m) => Type.Literal(m))),
        connector: Type.Optional(
          Type.Integer({ minimum: 1, description: '1.6 connector; 2.0.1 EVSE id, or the connector of evse' }),
        ),
        evse: Type.Optional(Type.Integer({ minimum: 1, description: '2.0.1 EVSE id' })),
        extended: Type.Optional(
          Type.Boolean({
            description:
              '1.6: send ExtendedTriggerMessage (security whitepaper), where LogStatusNotification is the one of get_log; always so for SignCertificate',
          }),
        ),
      },
      closed,
    ),
  },
} satisfies Record<string, CommandSpec>;

/** `message` is one of `every` (a union built from a list is typed as its element: string). */
export type TriggerParams = Omit<Static<(typeof triggerSpecs)['trigger_message']['params']>, 'message'> & {
  message: string;
};

/** The action and payload for the charger's version, or why it is not sent. */
export function triggerCall(
  version: OcppVersion,
  p: TriggerParams,
): { action: string; payload: Record<string, unknown> } | string {
  const v16 = version === 'ocpp1.6';
  if (!TRIGGERS[version].includes(p.message))
    return `${p.message} is not a message an ${version} charger can be asked for; it allows: ${TRIGGERS[version].join(', ')}`;
  if (v16 && p.evse !== undefined) return 'OCPP 1.6 has no EVSEs: give connector';
  if (v16) {
    // The whitepaper's ExtendedTriggerMessage is the only 1.6 way to ask for a CSR.
    const extended =
      p.extended === true || p.message === 'SignCertificate' || p.message === 'SignChargePointCertificate';
    if (extended && p.message === 'DiagnosticsStatusNotification')
      return 'ExtendedTriggerMessage has no DiagnosticsStatusNotification: ask for LogStatusNotification';
    // Core 1.6 calls the diagnostics upload status DiagnosticsStatusNotification.
    let requestedMessage = p.message;
    if (!extended && p.message === 'LogStatusNotification') requestedMessage = 'DiagnosticsStatusNotification';
    if (p.message === 'SignCertificate') requestedMessage = 'SignChargePointCertificate';
    return {
      action: extended ? 'ExtendedTriggerMessage' : 'TriggerMessage',
      payload: { requestedMessage, ...(p.connector ? { connectorId: p.connector } : {}) },
    };
  }
  let requestedMessage = p.message;
  if (p.message === 'DiagnosticsStatusNotification') requestedMessage = 'LogStatusNotification';
  if (p.message === 'SignCertificate') requestedMessage = 'SignChargingStationCertificate';
  const evse =
    p.evse !== undefined
      ? { evse: { id: p.evse, ...(p.connector ? { connectorId: p.connector } : {}) } }
      : p.connector
        ? { evse: { id: p.connector } }
        : {};
  return { action: 'TriggerMessage', payload: { requestedMessage, ...evse } };
}
