/**
 * set_network_profile: a connection profile a 2.0.1 charger keeps in a configuration slot
 * (SetNetworkProfile), in the plugin's words and as the payload. Pure: no I/O. The CSMS URL is
 * where the charger will connect: connections.ts puts it through the same outbound policy as
 * firmware and diagnostics locations before sending.
 */
import { Type, type Static } from '../../collector/sdk/index.ts';

const closed = { additionalProperties: false } as const;
const text = (maxLength: number, description?: string) =>
  Type.String({ maxLength, ...(description && { description }) });

/** Where a charger may be told to connect: OCPP-J is WebSocket, plain or TLS. */
export const CSMS_URL_PROTOCOLS = ['ws:', 'wss:'];

export const networkProfileSpecs = {
  set_network_profile: {
    description:
      'Stores a connection profile in a configuration slot of a 2.0.1 charger (SetNetworkProfile); the CSMS URL passes the outbound policy',
    params: Type.Object(
      {
        slot: Type.Integer({ minimum: 0, description: 'configurationSlot; NetworkConfigurationPriority orders them' }),
        ocpp_version: Type.Optional(
          Type.Enum(['OCPP12', 'OCPP15', 'OCPP16', 'OCPP20'] as const, {
            default: 'OCPP20',
            description: 'OCPP12, OCPP15, OCPP16 or OCPP20 (2.0.1)',
          }),
        ),
        transport: Type.Optional(
          Type.Enum(['JSON', 'SOAP'] as const, { default: 'JSON', description: 'JSON or SOAP' }),
        ),
        csms_url: Type.String({ pattern: '^wss?://', maxLength: 512, description: 'ws:// or wss:// URL of the CSMS' }),
        message_timeout_s: Type.Optional(Type.Integer({ minimum: 1, default: 30, description: 'messageTimeout, s' })),
        security_profile: Type.Integer({
          minimum: 0,
          maximum: 3,
          description: '0–3 (1 Basic Auth, 2 TLS + Basic, 3 mTLS)',
        }),
        interface: Type.Enum(
          ['Wired0', 'Wired1', 'Wired2', 'Wired3', 'Wireless0', 'Wireless1', 'Wireless2', 'Wireless3'] as const,
          { description: 'ocppInterface: Wired0–3 or Wireless0–3' },
        ),
        apn: Type.Optional(
          Type.Object(
            {
              apn: text(512),
              authentication: Type.Enum(['CHAP', 'NONE', 'PAP', 'AUTO'] as const, {
                description: 'CHAP, NONE, PAP or AUTO',
              }),
              user: Type.Optional(text(20)),
              password: Type.Optional(text(20)),
              sim_pin: Type.Optional(Type.Integer({ minimum: 0 })),
              preferred_network: Type.Optional(text(6, 'MCC and MNC')),
              use_only_preferred_network: Type.Optional(Type.Boolean()),
            },
            closed,
          ),
        ),
        vpn: Type.Optional(
          Type.Object(
            {
              server: text(512),
              user: text(20),
              group: Type.Optional(text(20)),
              password: text(20),
              key: text(255),
              type: Type.Enum(['IKEv2', 'IPSec', 'L2TP', 'PPTP'] as const, {
                description: 'IKEv2, IPSec, L2TP or PPTP',
              }),
            },
            closed,
          ),
        ),
      },
      closed,
    ),
  },
};

export type NetworkProfileParams = Static<(typeof networkProfileSpecs)['set_network_profile']['params']>;

export function networkProfilePayload(p: NetworkProfileParams): Record<string, unknown> {
  const apn = p.apn && {
    apn: p.apn.apn,
    apnAuthentication: p.apn.authentication,
    ...(p.apn.user !== undefined ? { apnUserName: p.apn.user } : {}),
    ...(p.apn.password !== undefined ? { apnPassword: p.apn.password } : {}),
    ...(p.apn.sim_pin !== undefined ? { simPin: p.apn.sim_pin } : {}),
    ...(p.apn.preferred_network !== undefined ? { preferredNetwork: p.apn.preferred_network } : {}),
    ...(p.apn.use_only_preferred_network !== undefined
      ? { useOnlyPreferredNetwork: p.apn.use_only_preferred_network }
      : {}),
  };
  return {
    configurationSlot: p.slot,
    connectionData: {
      ocppVersion: p.ocpp_version ?? 'OCPP20',
      ocppTransport: p.transport ?? 'JSON',
      ocppCsmsUrl: p.csms_url,
      messageTimeout: p.message_timeout_s ?? 30,
      securityProfile: p.security_profile,
      ocppInterface: p.interface,
      ...(apn ? { apn } : {}),
      ...(p.vpn ? { vpn: p.vpn } : {}),
    },
  };
}

/** The CSMS URL of a set_network_profile command, for the outbound policy; undefined for other commands. */
export function csmsUrlOf(name: string, params: unknown): string | undefined {
  return name === 'set_network_profile' ? (params as NetworkProfileParams).csms_url : undefined;
}
