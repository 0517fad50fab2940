import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type Database from 'better-sqlite3';
import type { RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Static, TSchema } from 'typebox';
import type { DeviceDirectory, DeviceStatusState, DiscoveredAttributes } from './devices.ts';
import type { LineHead } from './line-head.ts';
import type { MeasurementSpec } from './measurement.ts';
import type { Fields, Tags } from './point.ts';
import type { RecoveryRule } from './recovery.ts';

/** Why `forward` did not spool a line (see `PluginContext.forward`). */
export type ForwardRefusal =
  'identity' | 'measurement' | 'field_type' | 'no_timestamp' | 'malformed' | 'spool_full' | 'disk_full' | 'stopped';

declare module 'fastify' {
  interface FastifyRequest {
    /** The bytes of a JSON body as received, for signature checks. */
    rawBody?: Buffer;
  }
}

/** The states `device_status` records. `offline` is written, never inferred from silence. */
export type DeviceState = DeviceStatusState;

export interface CommandSpec<P extends TSchema = TSchema> {
  description: string;
  /** Parameter schema; the command bus validates against it before the plugin sees a command. */
  params: P;
  /** How long the device has to answer, in seconds. Default: the bus's (30 s). */
  timeout_s?: number;
}

export interface Command<Params = unknown> {
  id: string;
  name: string;
  params: Params;
  /** Aborted when the command times out or is cancelled: stop waiting for the device. */
  signal: AbortSignal;
}

/** A live device connection a plugin has made reachable for commands. */
export interface Attachment {
  /** Ends reachability, unless a newer attachment for the same device replaced this one. */
  detach(): void;
}

export interface AttachOptions {
  /** The commands this device accepts, when they are not this plugin's declared ones. */
  commands?: Record<string, CommandSpec>;
}

/** API roles, each including the ones after it: admin > operator > support > viewer. */
export type Role = 'admin' | 'operator' | 'support' | 'viewer';

export interface PluginRouteOptions extends Omit<RouteOptions, 'config'> {
  config?: RouteOptions['config'] & {
    /**
     * For routes under `/api/v1`: the least role allowed, named as on the core routes. The API's
     * key check, role check and audit log (for mutating methods) then apply exactly as for them.
     * Omit it for device endpoints that authenticate devices themselves (signatures, tokens).
     */
    minRole?: Role;
    /** The audit log's name for a mutating call. Default `<plugin>.<method>.<path>`. */
    action?: string;
  };
}

export interface PluginHttp {
  /**
   * Adds a route to the shared server. Routes must be added during `start`; a plugin restarted
   * by the runtime may add the same routes again (they are rebound to the new instance).
   * JSON bodies keep their raw bytes on `request.rawBody` (a Buffer) for signature checks.
   */
  route(options: PluginRouteOptions): void;
  /**
   * The address of the client behind a request (an upgrade's too): the peer, or what
   * X-Forwarded-For says when the peer is a proxy the server trusts (`http.trust_proxy`).
   */
  clientAddress(request: IncomingMessage): string;
  /**
   * Takes WebSocket upgrade requests whose path starts with `pathPrefix`. The handler may be async:
   * if it throws or rejects, the runtime logs it and answers 500 on the socket.
   */
  upgrade(
    pathPrefix: string,
    handler: (request: IncomingMessage, socket: Duplex, head: Buffer) => void | Promise<void>,
  ): void;
}

export interface SeenAttributes extends Partial<DiscoveredAttributes> {
  /** `error` when the device reports a fault while still reachable. Default `online`. */
  state?: 'online' | 'error';
  /**
   * With `state: 'error'`: a short label saying why (an error code such as `E42`, at most 64
   * characters), shown on the NOC's attention lists (`device_attention.reason`). Ignored otherwise.
   */
  reason?: string;
}

export interface PluginContext<Config = unknown> {
  /** This instance's configuration, defaults applied and validated. */
  readonly config: Config;
  /** `name` of the plugin, or `name#2` for the second configured instance. */
  readonly instance: string;
  /**
   * The only way data leaves a plugin. `tags.device` names the device; the runtime adds `kind`,
   * `model`, `customer`, `site` from the inventory. `time` is epoch milliseconds at the moment
   * of the reading (default: now). Fields are checked against the declared measurement.
   */
  emit(measurement: string, fields: Fields, tags?: Tags, time?: number): void;
  /**
   * For gateway plugins (the edge agent's uplink): spools a point that was already encoded as line
   * protocol elsewhere, parsed with `parseLineHead`. The fields and timestamp are kept as received
   * (no re-encoding); the inventory tags (`device`, `kind`, `model`, `customer`, `site`,
   * `gateway`) of `head.tags.device` are added. Answers why the line was refused, or undefined
   * when it was spooled; every refusal is counted (`fleetpulse_points_refused_total{plugin,reason}`):
   * - `identity`: the line carries one of those tags with a value other than the inventory's
   *   (a device the inventory does not know has none but `device`): never rewritten silently;
   * - `measurement`: not declared by a plugin that runs at the edge (nor an edge self-metric);
   *   the runtime's own measurements (liveness, fleet counts, rollups) are never forwarded;
   * - `field_type`: a field not declared, or not of its declared type (`5i` int, `5u` uint,
   *   `"…"` string, `true` bool, else float), so no sender can change a field's type in InfluxDB;
   * - `no_timestamp`: a replayed point must overwrite itself; `malformed`: a tag the encoder
   *   cannot write; `spool_full`: the spool refused it (`when_full: drop_newest`); `disk_full`:
   *   the disk under the spool is full (send it again later); `stopped`.
   * Whether the sender may report for `head.tags.device` at all is the plugin's to check first.
   */
  forward(head: LineHead): ForwardRefusal | undefined;
  /**
   * Resolves once every point emitted so far is in the durable spool (ack devices after it);
   * rejects with `PointsRefused` when they were not stored (the disk is full): acknowledge
   * nothing then, so that the sender keeps them and sends them again.
   */
  committed(): Promise<void>;
  /** The device reported: it is alive. Unknown devices are registered as pending. */
  seen(deviceId: string, attrs?: SeenAttributes): void;
  /** The device is known to be gone (connection closed): mark it offline now. */
  offline(deviceId: string): void;
  readonly devices: DeviceDirectory;
  /**
   * The inventory's SQLite database, for the plugin's own durable records (charging sessions,
   * idempotency keys). Name tables `<plugin>_<thing>` and create them at start (idempotently).
   */
  readonly db: Database.Database;
  readonly http: PluginHttp;
  /**
   * Makes a device reachable for commands through this instance. A newer attach replaces an older.
   * `options.commands` replaces the plugin's declared commands for this device: a gateway plugin
   * relays commands that another plugin (at the edge) declares, and says which ones.
   */
  attach<C>(deviceId: string, connection: C, options?: AttachOptions): Attachment;
  /** The connection last attached for a device, if it is still attached. */
  connection<C>(deviceId: string): C | undefined;
  /** Counts an event (a malformed frame, a refused handshake) in `fleetpulse_plugin_events_total`. */
  count(event: string, by?: number): void;
  /** Sets a gauge (open connections, queue length) in `fleetpulse_plugin_gauge`. */
  gauge(name: string, value: number): void;
  readonly log: Logger;
  readonly clock: { now(): number };
  /** Aborted when the instance is being stopped. */
  readonly signal: AbortSignal;
}

export interface RunningPlugin {
  stop(): Promise<void>;
  /** Carries out a command on a device this instance attached. Return value = result payload. */
  execute?(deviceId: string, command: Command): Promise<unknown>;
}

/** A device as the API is about to store it, for `PluginDefinition.checkDevice`. */
export interface DeviceDraft {
  id: string;
  kind: string;
  labels: Record<string, string>;
}

/** Why a device may not be stored: the offending input (`labels.address`) and a sentence. */
export interface DeviceProblem {
  field: string;
  message: string;
}

/** Where a plugin runs: in `fleetpulse serve`, at the edge in `fleetpulse agent`, or both. */
export type PluginPlace = 'serve' | 'agent';

export interface PluginDefinition<C extends TSchema = TSchema, K extends string = string> {
  name: string;
  description: string;
  /** Device kinds this plugin serves, e.g. `['charger']`; the dashboards' kinds come from here. */
  kinds: readonly K[];
  runs_in: PluginPlace[];
  /** Configuration schema, every option with its default. */
  config: C;
  /** Whether a process runs this plugin when its configuration does not mention it. */
  enabled_by_default?: boolean;
  measurements: MeasurementSpec[];
  commands?: Record<string, CommandSpec>;
  /**
   * Auto-recovery for this plugin's kinds: a command sent when a device has been in error or
   * offline for a while (the core's auto-recovery runs every plugin's rules). Optional. A rule's
   * kinds are checked against `kinds` (`NoInfer`), not added to them.
   */
  recovery?: readonly RecoveryRule<NoInfer<K>>[];
  /**
   * How often this plugin's devices report, in seconds, given its config. A device is marked
   * offline after two missed intervals (the runtime's `liveness.missed_intervals`).
   */
  reporting_interval_s: number | ConfigReader<Static<C>, number>;
  start(ctx: PluginContext<Static<C>>): Promise<RunningPlugin>;
  /**
   * Checks a device of one of this plugin's kinds before the inventory stores it (API create,
   * update and import; a problem is a 400 naming `field`). It may resolve names, never contact
   * the device. Optional: without it any labels are stored.
   */
  checkDevice?(device: DeviceDraft, config: Static<C>): Promise<DeviceProblem | undefined>;
}

/**
 * A function of the plugin's config, written in method syntax on purpose: method parameters are
 * checked bivariantly, so a plugin typed by its own schema still fits in the `Plugin` list.
 */
type ConfigReader<Config, R> = { read(config: Config): R }['read'];

/** A plugin of any configuration, as the runtime lists and runs it. */
export type Plugin = PluginDefinition<TSchema>;

/**
 * Declares a plugin. Pure: validates nothing, opens nothing; the runtime does both. The result
 * keeps its config type and its kinds (literal, for the dashboards), so `start(ctx)` and tests
 * (`TestAccumulator`, `validatePluginConfig`) are checked against the schema; it is also a `Plugin`.
 */
export function definePlugin<C extends TSchema, const K extends string>(
  definition: PluginDefinition<C, K>,
): PluginDefinition<C, K> {
  return definition;
}
