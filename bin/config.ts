import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { Type, type Static, type TSchema } from 'typebox';
import Value from 'typebox/value';
import { DEFAULT_ALERT_LINKS } from '../alerting/alert-links.ts';
import { DEFAULT_RULE_OPTIONS } from '../alerting/rule-options.ts';
import { LogOptions } from './logger.ts';

/**
 * The configuration of `serve` and `agent`: a YAML file (`--config`, or env FLEETPULSE_CONFIG)
 * plus environment overrides, validated before anything starts. Every option, its default and
 * its unit are here; docs/configuration.md explains them.
 */
const Influx = Type.Object(
  {
    url: Type.String({
      default: '',
      description: 'InfluxDB base URL; empty = start a local influxd from PATH under <data_dir>/influxdb',
    }),
    embedded_port: Type.Integer({
      default: 18086,
      minimum: 0,
      maximum: 65535,
      description:
        'Loopback HTTP port of the embedded influxd (influx.url empty): http://127.0.0.1:<port>; 0 = any free port. Not 8086, which a system InfluxDB holds',
    }),
    api: Type.Union([Type.Literal('v1'), Type.Literal('v2')], {
      default: 'v1',
      description: 'v1: /write (1.x, and 2.x/3.x compatibility); v2: /api/v2/write',
    }),
    database: Type.String({
      default: 'fleetpulse',
      minLength: 1,
      description: 'v1 database (also the InfluxQL database for queries)',
    }),
    retention_policy: Type.String({
      default: 'fleetpulse',
      description: 'v1 retention policy created with the database and made its default',
    }),
    retention_days: Type.Integer({
      default: 365,
      minimum: 0,
      description: 'Retention of the database, days (0 = forever)',
    }),
    username: Type.String({ default: '' }),
    password: Type.String({ default: '' }),
    org: Type.String({ default: '', description: 'v2 organisation' }),
    bucket: Type.String({ default: '', description: 'v2 bucket' }),
    token: Type.String({
      default: '',
      description: 'v2 token (also used for InfluxQL through the v1 compatibility API)',
    }),
    gzip: Type.Boolean({ default: true }),
  },
  { additionalProperties: false, default: {} },
);

const Pipeline = Type.Object(
  {
    spool_max_bytes: Type.Integer({
      default: 1024 ** 3,
      minimum: 1024,
      description: 'Largest spool, bytes of line protocol',
    }),
    when_full: Type.Union([Type.Literal('drop_oldest'), Type.Literal('drop_newest')], { default: 'drop_oldest' }),
    disk_reserve_bytes: Type.Integer({
      default: 64 * 1024 ** 2,
      minimum: 0,
      description:
        'Free bytes of the data_dir disk the spool leaves for SQLite to drain, checkpoint and restart; below it new points are refused as disk_full',
    }),
    commit_interval_ms: Type.Integer({
      default: 50,
      minimum: 1,
      maximum: 10_000,
      description:
        'Emitted points wait in memory at most this long, then are committed to the spool in one transaction; acknowledgements to devices wait for it, ms',
    }),
    batch_size: Type.Integer({ default: 5000, minimum: 1, maximum: 100_000, description: 'Lines per write' }),
    flush_interval_ms: Type.Integer({
      default: 1000,
      minimum: 10,
      description: 'A partial batch is written after this long',
    }),
    concurrency: Type.Integer({ default: 2, minimum: 1, maximum: 16, description: 'Writes in flight at once' }),
    shutdown_flush_s: Type.Integer({
      default: 10,
      minimum: 0,
      description: 'On SIGTERM, keep writing this long; the rest stays in the spool',
    }),
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
          description:
            'Paged in order, one per delay: http(s) webhook URLs (JSON POST) or mailto:<address>[,<address>] (needs smtp_url); empty = no escalation',
        }),
        delay_s: Type.Number({
          default: 900,
          exclusiveMinimum: 0,
          description: 'An unacknowledged incident goes to the next contact after this long, s',
        }),
        severities: Type.Array(Type.String({ minLength: 1 }), {
          default: ['critical'],
          minItems: 1,
          description: 'Severities that escalate',
        }),
        smtp_url: Type.String({
          default: '',
          description:
            'SMTP server for mailto: contacts: smtp://[user:pass@]host[:port] (STARTTLS when offered) or smtps://host:465',
        }),
        from: Type.String({
          default: '',
          description: 'Sender address of escalation emails (required with mailto: contacts)',
        }),
        public_url: Type.String({
          default: '',
          description:
            "This server's URL as on-call people reach it; notices link to <public_url>/api/v1/incidents/<id>",
        }),
        timeout_ms: Type.Integer({
          default: 10_000,
          minimum: 100,
          description: 'A contact (webhook or SMTP server) must answer within this long, ms',
        }),
        allowed_networks: Type.Array(Type.String({ description: 'A CIDR, e.g. 10.0.0.0/8' }), {
          default: [],
          description:
            'Private networks webhook contacts and smtp_url may be in; default none (public only). Loopback only by an entry inside 127.0.0.0/8; metadata never',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    firmware: Type.Object(
      {
        allowed_networks: Type.Array(Type.String({ description: 'A CIDR, e.g. 10.0.0.0/8' }), {
          default: [],
          description:
            'Private networks firmware catalogue URLs may point into; default none (public only). Loopback, link-local, metadata never',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

/** Read by `npm run grafana:build` / `grafana:check` (dashboards/build.ts), not by serve. */
const Grafana = Type.Object(
  {
    runbook_base_url: Type.String({
      default: DEFAULT_ALERT_LINKS.runbookBaseUrl,
      minLength: 1,
      description:
        "Where docs/runbooks.md is published; each alert's runbook_url is <runbook_base_url>#<rule uid>, one heading per rule",
    }),
    fleetpulse_url: Type.String({
      default: DEFAULT_ALERT_LINKS.fleetpulseUrl,
      minLength: 1,
      description: 'Fleetpulse as people reach it in a browser: alerts link to <fleetpulse_url>/ui/devices/<id>',
    }),
    profile_violation_for: Type.String({
      default: DEFAULT_RULE_OPTIONS.profileViolationFor,
      pattern: '^[1-9][0-9]*[smh]$',
      description:
        "How long a charger may draw past its charging profile's limit before fp-charger-ignoring-profile fires (the rule's for:), e.g. 10m",
    }),
  },
  { additionalProperties: false, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    data_dir: Type.String({
      default: './data',
      description: 'SQLite files, the spool and the embedded influxd live here',
    }),
    http: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0' }),
        port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
        body_limit_bytes: Type.Integer({ default: 1024 * 1024, minimum: 1024 }),
        tls: Type.Object(
          {
            cert: Type.String({
              default: '',
              description:
                'PEM certificate chain file; with key, serve speaks HTTPS/WSS only on http.port; re-read on SIGHUP',
            }),
            key: Type.String({ default: '', description: 'PEM private key file of cert; re-read on SIGHUP' }),
          },
          { additionalProperties: false, default: {} },
        ),
        trust_proxy: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'Reverse proxies (CIDRs or addresses) whose X-Forwarded-For is believed; empty = the peer is the client',
        }),
        allow: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'Client networks (CIDRs) that may use the API, its docs, /metrics and the operator pages (/ui/); empty = everyone. Device endpoints and /healthz stay open',
        }),
        auth_failures_per_min: Type.Integer({
          default: 30,
          minimum: 1,
          description: 'Failed API authentications per source address per minute; beyond, 429 without checking the key',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: LogOptions,
    grafana: Grafana,
    influx: Influx,
    pipeline: Pipeline,
    health: Type.Object(
      {
        max_write_lag_s: Type.Integer({
          default: 120,
          minimum: 1,
          description:
            '/healthz answers 503 degraded when writes have failed, or the oldest waiting point has waited, longer than this, s',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    liveness: Type.Object(
      {
        status_interval_s: Type.Integer({
          default: 60,
          minimum: 1,
          description: "Every device's status is written this often",
        }),
        missed_intervals: Type.Number({
          default: 2,
          minimum: 1,
          description: 'Offline after this many reporting intervals of silence',
        }),
        site_outage_share: Type.Number({
          default: 0.8,
          minimum: 0.01,
          maximum: 1,
          description:
            'A site is in an outage when this share of its watched devices went offline within site_outage_window_s: one alert for the site, none per device',
        }),
        site_outage_window_s: Type.Integer({
          default: 600,
          minimum: 1,
          description: 'How close together, s, the offline transitions of a site outage are',
        }),
        site_outage_min_devices: Type.Integer({
          default: 5,
          minimum: 1,
          description: 'Sites with fewer watched devices have no outage: each device alerts by itself',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    downsampler: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'Derive the hourly per-group rollups (`<measurement>_hourly`) the fleet-wide panels read',
        }),
        interval_s: Type.Integer({
          default: 300,
          minimum: 10,
          maximum: 3600,
          description: 'The recent hours are computed again this often, s',
        }),
        recent_hours: Type.Integer({
          default: 2,
          minimum: 1,
          maximum: 48,
          description: 'Hours computed at every pass, the current one included (late points heal)',
        }),
        backfill_hours: Type.Integer({
          default: 24,
          minimum: 0,
          maximum: 744,
          description: 'Hours computed once at start, the current one included',
        }),
        late_hours: Type.Integer({
          default: 168,
          minimum: 1,
          maximum: 744,
          description:
            'How far back the hour of a point that arrives late (an agent back after an outage) is computed again, hours',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    inventory: Type.Object(
      {
        path: Type.String({ default: '', description: 'SQLite inventory; default <data_dir>/fleetpulse.db' }),
        auto_accept: Type.Array(Type.String(), {
          default: [],
          description: 'Device kinds accepted without approval when they first connect',
        }),
        history_days: Type.Integer({
          default: 365,
          minimum: 1,
          description:
            'Ended history (audit, commands, resolved incidents, rollouts, timed sessions, dead letters) older than this is deleted, days',
        }),
        max_pending: Type.Integer({
          default: 1000,
          minimum: 0,
          description: 'Most devices pending approval; beyond, new unknown devices are refused',
        }),
        pending_per_source_per_min: Type.Integer({
          default: 10,
          minimum: 0,
          description: 'Most new pending devices per source address per minute',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    operations: OperationsConfig,
    ui: Type.Object(
      {
        session_hours: Type.Number({
          default: 8,
          exclusiveMinimum: 0,
          description: 'A sign-in of the operator pages (/ui/) ends after this many hours without a request',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    backup: Type.Object(
      {
        schedule: Type.Union([Type.Literal('daily'), Type.Literal('off')], {
          default: 'daily',
          description:
            'daily: a backup of the inventory and InfluxDB every day at `at`; off: none (POST /api/v1/backups still takes one)',
        }),
        at: Type.String({
          default: '03:30',
          pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
          description: 'Local time of the daily backup, HH:MM',
        }),
        timezone: Type.String({ default: '', description: "IANA zone of `at`; empty = the machine's" }),
        dir: Type.String({
          default: '',
          description: 'Where backups go, one folder each; default <data_dir>/backups (put it on another disk)',
        }),
        keep: Type.Integer({ default: 7, minimum: 1, description: 'Backups kept; older ones are deleted' }),
        influx_rpc: Type.String({
          default: '',
          description:
            'host:port of a configured InfluxDB 1.x RPC bind-address for `influxd backup`; default: the embedded one, or <influx.url host>:8088',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    plugin_start_failure: Type.Union([Type.Literal('exit'), Type.Literal('retry')], {
      default: 'retry',
      description: 'A plugin whose start fails: retry with backoff (others keep running), or stop the process',
    }),
    plugins: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description: 'Per plugin: its options, a list for several instances, or false',
    }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the file (if any), applies `FLEETPULSE_<KEY>` / `FLEETPULSE_<SECTION>__<KEY>` environment
 * overrides (double underscore between levels, values parsed as YAML scalars:
 * `FLEETPULSE_DATA_DIR=/srv/fleetpulse`, `FLEETPULSE_HTTP__PORT=9090`), then `flags` (command-line
 * values by key path, named by their flag), fills defaults and validates. An error names the key,
 * and the variable or flag when the value came from one.
 */
export function loadConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  flags: ConfigFlags = {},
): Config {
  return loadConfigWith(ConfigSchema, file, env, flags);
}

/** Values given on the command line: key path (`http.port`) → the flag (`--port`) and its text. */
export type ConfigFlags = Record<string, { flag: string; value: string }>;

/** `loadConfig` for another schema (the agent's): same file reading, overrides and errors. */
export function loadConfigWith<S extends TSchema>(
  schema: S,
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  flags: ConfigFlags = {},
): Static<S> {
  let raw: unknown = {};
  if (file) {
    try {
      raw = load(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      throw new ConfigError(`cannot read configuration ${file}: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new ConfigError(`${file}: the top level must be a mapping`);
  }
  const config = raw as Record<string, unknown>;
  /** Where a key's value came from, when not from the file: key path → variable or flag. */
  const sources = new Map<string, string>();
  const set = (path: string[], value: unknown, source: string) => {
    let node = config;
    for (const key of path.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
    sources.set(path.join('.'), source);
  };
  const parse = (value: string, source: string): unknown => {
    if (value === '') return '';
    try {
      return load(value);
    } catch (err) {
      throw new ConfigError(`${source}: not a YAML value: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  // A top-level key has no `__`; only the schema's own keys count, so that FLEETPULSE_CONFIG,
  // FLEETPULSE_ADMIN_KEY and other variables read elsewhere are not options.
  const topLevel = new Set(Object.keys((schema as { properties?: object }).properties ?? {}));
  for (const [name, value] of Object.entries(env)) {
    const m = /^FLEETPULSE_(.+)$/.exec(name);
    if (!m || value === undefined) continue;
    const path = m[1].toLowerCase().split('__');
    if (path.length === 1 && !topLevel.has(path[0])) continue;
    set(path, parse(value, name), name);
  }
  for (const [key, { flag, value }] of Object.entries(flags)) set(key.split('.'), parse(value, flag), flag);
  const named = (key: string) => {
    const source = sourceIn(sources, key);
    return source ? `${source} (${key})` : key;
  };
  const withDefaults = Value.Default(schema, config);
  const errors = [...Value.Errors(schema, withDefaults)];
  const extra = errors.find((e) => e.keyword === 'additionalProperties');
  if (extra) {
    const key = [extra.instancePath.replace(/^\//, '').replaceAll('/', '.'), extra.params.additionalProperties[0]]
      .filter(Boolean)
      .join('.');
    throw new ConfigError(`${named(key)}: unknown option`);
  }
  const first = errors.find((e) => e.keyword !== 'boolean') ?? errors[0];
  if (first)
    throw new ConfigError(
      `${named(first.instancePath.replace(/^\//, '').replaceAll('/', '.')) || '(top level)'}: ${first.message}`,
    );
  configSources.set(withDefaults as object, sources);
  return withDefaults as Static<S>;
}

const configSources = new WeakMap<object, Map<string, string>>();

/**
 * The variable or flag a key's value came from (`FLEETPULSE_HTTP__PORT`), for errors found
 * after loading (a port taken, a plugin option); undefined when it came from the file.
 */
export function sourceOf(config: object, key: string): string | undefined {
  const sources = configSources.get(config);
  return sources && sourceIn(sources, key);
}

/** The source of `key`, of a section above it, or (an unknown section) of a key below it. */
function sourceIn(sources: Map<string, string>, key: string): string | undefined {
  for (let path = key; path; path = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '') {
    const source = sources.get(path);
    if (source) return source;
  }
  for (const [path, source] of sources) if (path.startsWith(key + '.')) return source;
  return undefined;
}

/** Where serve keeps the inventory: `inventory.path`, else `<data_dir>/fleetpulse.db`. */
export function inventoryPath(config: Config): string {
  return config.inventory.path || join(config.data_dir, 'fleetpulse.db');
}
