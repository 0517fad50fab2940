import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { Type, type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';

/**
 * The configuration of `serve` and `agent`: a YAML file (`--config`, or env FLEETPULSE_CONFIG)
 * plus environment overrides, validated before anything starts. Every option, its default and
 * its unit are here; docs/configuration.md explains them.
 */
const Influx = Type.Object(
  {
    url: Type.String({ default: '', description: 'InfluxDB base URL; empty = start a local influxd from PATH under <data_dir>/influxdb' }),
    api: Type.Union([Type.Literal('v1'), Type.Literal('v2')], { default: 'v1', description: 'v1: /write (1.x, and 2.x/3.x compatibility); v2: /api/v2/write' }),
    database: Type.String({ default: 'fleetpulse', minLength: 1, description: 'v1 database (also the InfluxQL database for queries)' }),
    retention_policy: Type.String({ default: 'fleetpulse', description: 'v1 retention policy created with the database and made its default' }),
    retention_days: Type.Integer({ default: 365, minimum: 0, description: 'Retention of the database, days (0 = forever)' }),
    username: Type.String({ default: '' }),
    password: Type.String({ default: '' }),
    org: Type.String({ default: '', description: 'v2 organisation' }),
    bucket: Type.String({ default: '', description: 'v2 bucket' }),
    token: Type.String({ default: '', description: 'v2 token (also used for InfluxQL through the v1 compatibility API)' }),
    gzip: Type.Boolean({ default: true }),
  },
  { additionalProperties: false, default: {} },
);

const Pipeline = Type.Object(
  {
    spool_max_bytes: Type.Integer({ default: 1024 ** 3, minimum: 1024, description: 'Largest spool, bytes of line protocol' }),
    when_full: Type.Union([Type.Literal('drop_oldest'), Type.Literal('drop_newest')], { default: 'drop_oldest' }),
    batch_size: Type.Integer({ default: 5000, minimum: 1, maximum: 100_000, description: 'Lines per write' }),
    flush_interval_ms: Type.Integer({ default: 1000, minimum: 10, description: 'A partial batch is written after this long' }),
    concurrency: Type.Integer({ default: 2, minimum: 1, maximum: 16, description: 'Writes in flight at once' }),
    shutdown_flush_s: Type.Integer({ default: 10, minimum: 0, description: 'On SIGTERM, keep writing this long; the rest stays in the spool' }),
  },
  { additionalProperties: false, default: {} },
);

/**
 * Operations: escalation of unacknowledged incidents (collector/operations/escalation.ts). The
 * webhook's shared secret is not here: it comes from FLEETPULSE_INCIDENT_WEBHOOK_SECRET.
 */
export const OperationsConfig = Type.Object(
  {
    escalation: Type.Object(
      {
        contacts: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'Paged in order, one per delay: http(s) webhook URLs (JSON POST) or mailto:<address>[,<address>] (needs smtp_url); empty = no escalation',
        }),
        delay_s: Type.Number({ default: 900, exclusiveMinimum: 0, description: 'An unacknowledged incident goes to the next contact after this long, s' }),
        severities: Type.Array(Type.String({ minLength: 1 }), { default: ['critical'], minItems: 1, description: 'Severities that escalate' }),
        smtp_url: Type.String({ default: '', description: 'SMTP server for mailto: contacts: smtp://[user:pass@]host[:port] (STARTTLS when offered) or smtps://host:465' }),
        from: Type.String({ default: '', description: 'Sender address of escalation emails (required with mailto: contacts)' }),
        public_url: Type.String({ default: '', description: "This server's URL as on-call people reach it; notices link to <public_url>/api/v1/incidents/<id>" }),
        timeout_ms: Type.Integer({ default: 10_000, minimum: 100, description: 'A contact (webhook or SMTP server) must answer within this long, ms' }),
        allowed_networks: Type.Array(Type.String({ description: 'A CIDR, e.g. 10.0.0.0/8' }), {
          default: [],
          description: 'Private networks webhook contacts and smtp_url may be in; default none (public only). Loopback only by an entry inside 127.0.0.0/8; metadata never',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    firmware: Type.Object(
      {
        allowed_networks: Type.Array(Type.String({ description: 'A CIDR, e.g. 10.0.0.0/8' }), {
          default: [],
          description: 'Private networks firmware catalogue URLs may point into; default none (public only). Loopback, link-local, metadata never',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    data_dir: Type.String({ default: './data', description: 'SQLite files, the spool and the embedded influxd live here' }),
    http: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0' }),
        port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
        body_limit_bytes: Type.Integer({ default: 1024 * 1024, minimum: 1024 }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      { level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }) },
      { additionalProperties: false, default: {} },
    ),
    influx: Influx,
    pipeline: Pipeline,
    liveness: Type.Object(
      {
        status_interval_s: Type.Integer({ default: 60, minimum: 1, description: "Every device's status is written this often" }),
        missed_intervals: Type.Number({ default: 2, minimum: 1, description: 'Offline after this many reporting intervals of silence' }),
      },
      { additionalProperties: false, default: {} },
    ),
    downsampler: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Derive the hourly per-group rollups (`<measurement>_hourly`) the fleet-wide panels read' }),
        interval_s: Type.Integer({ default: 300, minimum: 10, maximum: 3600, description: 'The recent hours are computed again this often, s' }),
        recent_hours: Type.Integer({ default: 2, minimum: 1, maximum: 48, description: 'Hours computed at every pass, the current one included (late points heal)' }),
        backfill_hours: Type.Integer({ default: 24, minimum: 0, maximum: 744, description: 'Hours computed once at start, the current one included' }),
        late_hours: Type.Integer({ default: 168, minimum: 1, maximum: 744, description: 'How far back the hour of a point that arrives late (an agent back after an outage) is computed again, hours' }),
      },
      { additionalProperties: false, default: {} },
    ),
    inventory: Type.Object(
      {
        path: Type.String({ default: '', description: 'SQLite inventory; default <data_dir>/fleetpulse.db' }),
        auto_accept: Type.Array(Type.String(), { default: [], description: 'Device kinds accepted without approval when they first connect' }),
      },
      { additionalProperties: false, default: {} },
    ),
    operations: OperationsConfig,
    plugin_start_failure: Type.Union([Type.Literal('exit'), Type.Literal('retry')], {
      default: 'retry',
      description: 'A plugin whose start fails: retry with backoff (others keep running), or stop the process',
    }),
    plugins: Type.Record(Type.String(), Type.Unknown(), { default: {}, description: 'Per plugin: its options, a list for several instances, or false' }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the file (if any), applies `FLEETPULSE_<SECTION>__<KEY>` environment overrides (double
 * underscore between levels, values parsed as YAML scalars: `FLEETPULSE_HTTP__PORT=9090`,
 * `FLEETPULSE_INFLUX__URL=http://influx:8086`), fills defaults and validates. Errors name the key.
 */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfigWith(ConfigSchema, file, env);
}

/** `loadConfig` for another schema (the agent's): same file reading, overrides and errors. */
export function loadConfigWith<S extends TSchema>(schema: S, file: string | undefined, env: NodeJS.ProcessEnv = process.env): Static<S> {
  let raw: unknown = {};
  if (file) {
    try {
      raw = load(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      throw new ConfigError(`cannot read configuration ${file}: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: the top level must be a mapping`);
  }
  const config = raw as Record<string, unknown>;
  for (const [name, value] of Object.entries(env)) {
    const m = /^FLEETPULSE_(.+__.+)$/.exec(name);
    if (!m || value === undefined) continue;
    const path = m[1]!.toLowerCase().split('__');
    let node = config;
    for (const key of path.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value === '' ? '' : load(value);
  }
  const withDefaults = Value.Default(schema, config);
  const errors = [...Value.Errors(schema, withDefaults)];
  const extra = errors.find((e) => e.keyword === 'additionalProperties');
  if (extra) {
    const key = [extra.instancePath.replace(/^\//, '').replaceAll('/', '.'), (extra.params as { additionalProperties: string[] }).additionalProperties[0]]
      .filter(Boolean)
      .join('.');
    throw new ConfigError(`${key}: unknown option`);
  }
  const first = errors.find((e) => e.keyword !== 'boolean') ?? errors[0];
  if (first) throw new ConfigError(`${first.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)'}: ${first.message}`);
  return withDefaults as Static<S>;
}

/** Where serve keeps the inventory: `inventory.path`, else `<data_dir>/fleetpulse.db`. */
export function inventoryPath(config: Config): string {
  return config.inventory.path || join(config.data_dir, 'fleetpulse.db');
}
