import { Type, type Static } from '../../collector/sdk/index.ts';
import { tariffsConfig } from './pricing.ts';

/** The plugin's options. Each has its default and unit; `ocpp.sample.yaml` shows them all. */
export const config = Type.Object(
  {
    path: Type.String({ default: '/ocpp/', description: 'URL path prefix; a charger connects to <path><identity>' }),
    heartbeat_interval_s: Type.Integer({
      default: 300,
      minimum: 1,
      description: 'Heartbeat interval given to chargers in the BootNotification answer, s; offline after two missed',
    }),
    boot_retry_interval_s: Type.Integer({
      default: 60,
      minimum: 1,
      description: 'How soon a Pending or Rejected charger may send BootNotification again, s',
    }),
    ping_interval_s: Type.Number({
      default: 60,
      minimum: 0,
      description: 'WebSocket ping per connection, s (0 = off); a missing pong at the next ping closes the connection',
    }),
    ping_jitter: Type.Number({
      default: 0.25,
      minimum: 0,
      maximum: 0.9,
      description:
        'Each connection pings every ping_interval_s × (1 ± ping_jitter), so that chargers connected at once do not ping in waves',
    }),
    unknown_chargers: Type.Union([Type.Literal('pending'), Type.Literal('refuse')], {
      default: 'pending',
      description:
        'Identities not in the inventory: "pending" lets them connect and answers BootNotification Pending until approved; "refuse" answers the handshake 401',
    }),
    password_required: Type.Boolean({
      default: true,
      description:
        'false admits active chargers that have no ocpp_password on file (security profile 0: labs and demos only). A charger with a password on file always needs it',
    }),
    max_bad_messages: Type.Integer({
      default: 10,
      minimum: 1,
      description: 'Consecutive malformed frames after which a connection is closed (each one is answered and counted)',
    }),
    allowed_networks: Type.Array(Type.String({ description: 'A CIDR, e.g. 10.20.0.0/16' }), {
      default: [],
      description:
        'Private networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) a firmware or diagnostics location may point into. ' +
        'Default none: chargers are sent only to public addresses. Loopback, link-local and cloud metadata never',
    }),
    local_list: Type.Union([Type.Literal('manual'), Type.Literal('auto')], {
      default: 'manual',
      description:
        'Local authorization lists: "manual" pushes them only on send_local_list; "auto" also pushes one at each accepted boot and after every id-tag change, to every connected charger whose list it changes',
    }),
    tariffs: tariffsConfig,
    tariff: Type.Object(
      {
        currency: Type.String({
          default: 'EUR',
          minLength: 3,
          maxLength: 3,
          description: 'ISO 4217 code of every price below',
        }),
        energy_per_kwh: Type.Number({ default: 0, minimum: 0, description: 'Price per kWh delivered' }),
        time_per_hour: Type.Number({
          default: 0,
          minimum: 0,
          description: 'Price per hour plugged in (start to stop)',
        }),
        session_fee: Type.Number({ default: 0, minimum: 0, description: 'Flat price per session' }),
        tax_pct: Type.Number({
          default: 0,
          minimum: 0,
          maximum: 100,
          description: 'Tax added on top of the net price, %',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type OcppConfig = Static<typeof config>;
export type Tariff = OcppConfig['tariff'];

/** The OCPP credential type in the inventory. Secrets never appear in plugin config. */
export const CREDENTIAL = 'ocpp_password';

export const PROTOCOLS = ['ocpp1.6', 'ocpp2.0.1'] as const;
export type OcppVersion = (typeof PROTOCOLS)[number];
