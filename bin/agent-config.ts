import { Type, type Static } from 'typebox';
import { loadConfigWith } from './config.ts';
import { LogOptions } from './logger.ts';

/**
 * The configuration of `fleetpulse agent` (agent.yaml): who the agent is, where the server is,
 * its outbox, and its plugins' sections. Environment overrides as for serve
 * (`FLEETPULSE_AGENT__TOKEN=...`); the token may also come from FLEETPULSE_AGENT_TOKEN or a file.
 */
export const AgentConfigSchema = Type.Object(
  {
    agent: Type.Object(
      {
        id: Type.String({ minLength: 1, description: "This agent's device id in the inventory (its PC)" }),
        server: Type.String({
          minLength: 1,
          pattern: '^wss?://',
          description:
            "The server's agent endpoint, e.g. wss://noc.example:8443/agent/ (ws:// only on a trusted network)",
        }),
        token: Type.String({
          default: '',
          description: 'Agent token; empty = env FLEETPULSE_AGENT_TOKEN, else token_file',
        }),
        token_file: Type.String({ default: '', description: 'File holding the agent token (first line)' }),
      },
      { additionalProperties: false },
    ),
    data_dir: Type.String({ default: './agent-data', description: 'The outbox (SQLite) and plugin state live here' }),
    log: LogOptions,
    outbox: Type.Object(
      {
        max_bytes: Type.Integer({
          default: 512 * 1024 ** 2,
          minimum: 1024,
          description: 'Largest outbox, bytes of line protocol (a day offline is ~50 MB for a PC and 5 terminals)',
        }),
        when_full: Type.Union([Type.Literal('drop_oldest'), Type.Literal('drop_newest')], {
          default: 'drop_oldest',
          description: 'Which points go when the outbox is full; every drop is counted',
        }),
        disk_reserve_bytes: Type.Integer({
          default: 64 * 1024 ** 2,
          minimum: 0,
          description:
            'Free bytes of the data_dir disk the outbox leaves for SQLite to send, checkpoint and restart; below it new points are refused as disk_full',
        }),
        batch_size: Type.Integer({
          default: 1000,
          minimum: 1,
          maximum: 10_000,
          description: 'Lines per uplink batch (the server takes at most its max_batch_lines)',
        }),
        flush_interval_ms: Type.Integer({
          default: 1000,
          minimum: 10,
          description: 'A partial batch is sent after this long, ms',
        }),
        shutdown_flush_s: Type.Integer({
          default: 5,
          minimum: 0,
          description: 'On SIGTERM, keep sending this long; the rest stays in the outbox, s',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    uplink: Type.Object(
      {
        ack_timeout_s: Type.Integer({
          default: 15,
          minimum: 1,
          description: 'A batch not acknowledged within this is sent again, s',
        }),
        connect_wait_s: Type.Integer({
          default: 5,
          minimum: 1,
          description: 'A batch waits this long for a connection before backing off, s',
        }),
        reconnect_initial_ms: Type.Integer({
          default: 1000,
          minimum: 10,
          description: 'First reconnect delay ceiling (full jitter, doubling), ms',
        }),
        reconnect_max_ms: Type.Integer({ default: 30_000, minimum: 100, description: 'Largest reconnect delay, ms' }),
        announce_interval_s: Type.Integer({
          default: 5,
          minimum: 1,
          description: 'The device list is sent again when it changed, checked this often, s',
        }),
        ca: Type.String({
          default: '',
          description:
            "PEM file of the CA(s) that signed the server's certificate (wss://); empty = Node's bundled CAs",
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    plugins: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description: 'Per edge plugin: its options, a list for several instances, or false',
    }),
  },
  { additionalProperties: false },
);

export type AgentConfig = Static<typeof AgentConfigSchema>;

export function loadAgentConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  return loadConfigWith(AgentConfigSchema, file, env);
}
