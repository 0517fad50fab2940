import { Type, type Static } from '../../collector/sdk/index.ts';
import { singleTariffConfig, tariffsConfig } from './pricing.ts';

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
    session_timeout_h: Type.Number({
      default: 48,
      exclusiveMinimum: 0,
      description:
        'An active session of which no message has arrived for this long is closed (stop_reason timeout, complete=false), h',
    }),
    available_grace_s: Type.Number({
      default: 300,
      minimum: 0,
      description:
        'An active session whose connector has reported Available for this long without a stop is closed (stop_reason connector_available), s',
    }),
    session_sweep_s: Type.Number({
      default: 60,
      exclusiveMinimum: 0,
      description:
        'How often the timeout and the Available grace are checked, s (each check closes at most 200 sessions)',
    }),
    ca: Type.Object(
      {
        cert: Type.Optional(
          Type.String({
            description:
              'PEM file of the CA that issues charger client certificates (security profile 3) and signs their CSRs; needs http.tls',
          }),
        ),
        key: Type.Optional(Type.String({ description: "PEM file of that CA's private key (for SignCertificate)" })),
        certificate_days: Type.Integer({
          default: 365,
          minimum: 1,
          description: 'Validity of a certificate signed for a charger (SignCertificate → CertificateSigned), days',
        }),
        renew_before_days: Type.Integer({
          default: 30,
          minimum: 0,
          description:
            'A charger connecting with a client certificate of this CA that ends within this many days is asked for a new CSR (0 = never)',
        }),
        ocsp_results: Type.Record(Type.String({ pattern: '^[0-9A-Fa-f]{1,40}$' }), Type.String({ maxLength: 5500 }), {
          default: {},
          description:
            'GetCertificateStatus answers: certificate serial number (hex) → base64 OCSP response, fetched by your own tooling (serve makes no OCSP call)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    local_list: Type.Union([Type.Literal('manual'), Type.Literal('auto')], {
      default: 'manual',
      description:
        'Local authorization lists: "manual" pushes them only on send_local_list; "auto" also pushes one at each accepted boot and after every id-tag change, to every connected charger whose list it changes',
    }),
    event_alert_severity: Type.Integer({
      default: 3,
      minimum: 0,
      maximum: 9,
      description:
        'A 2.0.1 NotifyEvent whose monitor has this severity or a more severe one (0 Danger, 1 Hardware Failure, 2 System Failure, 3 Critical … 9 Debug) is written with alerting=true, which the alert rule fp-charger-severe-event pages for',
    }),
    data_transfer: Type.Object(
      {
        vendors: Type.Record(
          Type.String({ minLength: 1, maxLength: 255 }),
          Type.Object(
            {
              handler: Type.Optional(
                Type.String({ description: 'store (the default), reject, or a name code registered' }),
              ),
              message_ids: Type.Optional(
                Type.Array(Type.String({ maxLength: 50 }), {
                  description: 'The messageIds this vendor has; others are answered UnknownMessageId. Default any',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          {
            default: {},
            description:
              "A charger's DataTransfer by vendorId: the handler that answers it. Unknown vendorIds are stored and answered UnknownVendorId",
          },
        ),
        max_data_bytes: Type.Integer({
          default: 4096,
          minimum: 0,
          description: 'A DataTransfer with more data than this, bytes, is answered Rejected and kept without its data',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    tariffs: tariffsConfig,
    tariff: singleTariffConfig,
  },
  { additionalProperties: false },
);

export type OcppConfig = Static<typeof config>;
export type Tariff = OcppConfig['tariff'];

/** The OCPP credential type in the inventory. Secrets never appear in plugin config. */
export const CREDENTIAL = 'ocpp_password';

export const PROTOCOLS = ['ocpp1.6', 'ocpp2.0.1'] as const;
export type OcppVersion = (typeof PROTOCOLS)[number];
