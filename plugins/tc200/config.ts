import { Type, type Static } from '../../collector/sdk/index.ts';

/** The `plugins.tc200` section of fleetpulse.yaml (see tc200.sample.yaml, which shows every default). */
export const config = Type.Object(
  {
    ports: Type.Array(
      Type.Object(
        {
          path: Type.String({ minLength: 1, description: 'Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...' }),
          baud_rate: Type.Integer({ default: 115200, minimum: 1200, description: 'Line speed, bit/s' }),
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'Serial ports with a TC-200 on them; each is opened and reopened on its own' },
    ),
    heartbeat_interval_s: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 3600,
      description: 'Heartbeat interval set on every terminal at connect, s; a terminal is offline after two missed',
    }),
    status_interval_s: Type.Integer({
      default: 60,
      minimum: 1,
      maximum: 86_400,
      description: 'Status report interval set on every terminal at connect, s',
    }),
    ack_timeout_ms: Type.Integer({
      default: 300,
      minimum: 10,
      maximum: 10_000,
      description: 'Wait for a link ACK before resending a frame, ms',
    }),
    max_retries: Type.Integer({
      default: 5,
      minimum: 0,
      maximum: 20,
      description: 'Resends of an unacknowledged frame before it is given up',
    }),
    command_timeout_s: Type.Number({
      default: 10,
      minimum: 0.1,
      description: 'Wait for a command result after the terminal acknowledged the command, s',
    }),
    identify_interval_s: Type.Number({
      default: 2,
      minimum: 0.1,
      description: 'How often to ask a silent terminal for its hello, s',
    }),
    presence_check_ms: Type.Integer({
      default: 1000,
      minimum: 50,
      description: "How often to check that an open port's device node still exists, ms",
    }),
    reconnect_initial_ms: Type.Integer({
      default: 500,
      minimum: 10,
      description: 'First wait before reopening a port that vanished or failed to open, ms',
    }),
    reconnect_max_ms: Type.Integer({
      default: 30_000,
      minimum: 10,
      description: 'Longest wait between reopen attempts (doubling with ±20 % jitter), ms',
    }),
    firmware: Type.Object(
      {
        chunk_bytes: Type.Integer({
          default: 512,
          minimum: 16,
          maximum: 1018,
          description: 'Image bytes per FW_CHUNK frame',
        }),
        confirm_timeout_s: Type.Number({
          default: 120,
          minimum: 0.1,
          description: 'Wait for the terminal to come back on the new version after apply, s',
        }),
        max_image_bytes: Type.Integer({
          default: 16 * 1024 * 1024,
          minimum: 1,
          description: 'Largest image accepted, bytes',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Tc200Config = Static<typeof config>;
