import type Database from 'better-sqlite3';
import { noHttp } from '../sdk/no-http.ts';
import type { Logger } from 'pino';
import { Backoff, sleep } from '../pipeline/backoff.ts';
import { CommandBus, type CommandOutcome } from '../commands/command-bus.ts';
import {
  conformFields,
  DeviceUnreachable,
  DiscoveryRefused,
  type DeviceRecord,
  type Fields,
  type MeasurementSpec,
  type AttachOptions,
  type Attachment,
  type DeviceDirectory,
  type DeviceAudit,
  type DeviceDraft,
  type DeviceProblem,
  type Plugin,
  type PluginContext,
  type PluginPlace,
  type RunningPlugin,
  type SeenAttributes,
} from '../sdk/index.ts';
import { Emitter, type LineSink } from './emitter.ts';
import { Liveness, type MaintenanceCalendar } from './liveness.ts';
import { resolvePlugins, type PluginInstance, type StartFailurePolicy } from './plugin-config.ts';
import type { SelfMetrics } from './self-metrics.ts';
import type { SharedServer } from './shared-server.ts';
import { runtimeMeasurements } from './measurements.ts';
import { ROLLUP_SUFFIX } from './rollups.ts';

const RUNTIME_SPECS = new Map(runtimeMeasurements.map((m) => [m.name, m]));
const conformRuntime = (measurement: string, fields: Fields): Fields =>
  conformFields(RUNTIME_SPECS.get(measurement)!, fields);

/**
 * The measurements an edge may forward: those of the plugins that run at the edge, and the edge
 * runtime's own self-metrics. Never one the runtime here writes itself (liveness, fleet counts,
 * rollups), even if a plugin declared the same name.
 */
function forwardable(plugins: readonly Plugin[], metrics: SelfMetrics): ReadonlyMap<string, MeasurementSpec> {
  const allowed = new Map<string, MeasurementSpec>();
  for (const m of metrics.specs()) allowed.set(m.name, m);
  for (const p of plugins) if (p.runs_in.includes('agent')) for (const m of p.measurements) allowed.set(m.name, m);
  for (const m of runtimeMeasurements) allowed.delete(m.name);
  for (const name of allowed.keys()) if (name.endsWith(ROLLUP_SUFFIX)) allowed.delete(name);
  return allowed;
}

/** A device's audit entry as the runtime hands it to the inventory (`AuditLog.recordDevice`). */
export type DeviceAuditRow = DeviceAudit & { at: number; source: string };

export interface CollectorOptions {
  place: PluginPlace;
  /**
   * The plugin list (`plugins/index.ts`), in start order. Those that run at the edge also say
   * what an agent may forward (their measurements).
   */
  plugins: readonly Plugin[];
  /** The `plugins:` section of the configuration. */
  pluginConfig: Record<string, unknown>;
  sink: LineSink;
  /** The runtime's SQLite file (spool, liveness state). */
  db: Database.Database;
  /** The inventory's SQLite file, handed to plugins as `ctx.db` for their own records. */
  pluginDb: Database.Database;
  /** The inventory's audit log, for `ctx.audit`; absent at the edge, where the rows are only logged. */
  audit?: (row: DeviceAuditRow) => void;
  directory: DeviceDirectory;
  metrics: SelfMetrics;
  log: Logger;
  /** The shared HTTP server; absent at the edge, where plugins serve no routes. */
  server?: SharedServer;
  clock?: { now(): number };
  onStartFailure?: StartFailurePolicy;
  liveness?: {
    status_interval_s?: number;
    missed_intervals?: number;
    site_outage_share?: number;
    site_outage_window_s?: number;
    site_outage_min_devices?: number;
    maintenance?: MaintenanceCalendar;
  };
  /** Self-metrics are written as points this often, s. Default 10. */
  selfMetricsIntervalS?: number;
}

interface Slot {
  spec: PluginInstance;
  running?: RunningPlugin;
  stopper: AbortController;
  connections: Map<string, unknown>;
}

/**
 * The plugin host: validates every plugin's configuration before anything opens, starts the
 * plugins in order, gives each its context, and stops them on shutdown. It knows no device type.
 */
export class Collector {
  readonly bus: CommandBus;
  readonly liveness: Liveness;
  readonly emitter: Emitter;
  private readonly o: CollectorOptions;
  private readonly clock: { now(): number };
  private readonly instances: PluginInstance[];
  private readonly slots: Slot[] = [];
  private readonly stopping = new AbortController();
  private selfMetricsTimer: NodeJS.Timeout | undefined;
  /** What an edge may send through `ctx.forward`. */
  private readonly forwardable: ReadonlyMap<string, MeasurementSpec>;

  /** Throws PluginConfigError (naming plugin and key) before anything is opened. */
  constructor(options: CollectorOptions) {
    this.o = options;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.instances = resolvePlugins(
      options.plugins,
      options.pluginConfig,
      options.place,
      options.onStartFailure ?? 'exit',
    );
    this.emitter = new Emitter(options.sink, options.directory, options.metrics, options.log, this.clock);
    this.emitter.enriching = options.place === 'serve';
    this.forwardable = forwardable(options.plugins, options.metrics);
    this.bus = new CommandBus((outcome, instance) => this.recordOutcome(outcome, instance));
    const intervals = new Map<string, number>();
    for (const { plugin, config } of this.instances) {
      const s =
        typeof plugin.reporting_interval_s === 'function'
          ? plugin.reporting_interval_s(config)
          : plugin.reporting_interval_s;
      for (const kind of plugin.kinds) intervals.set(kind, Math.max(s, intervals.get(kind) ?? 0));
    }
    this.liveness = new Liveness({
      db: options.db,
      directory: options.directory,
      log: options.log.child({ component: 'liveness' }),
      intervalFor: (kind) => intervals.get(kind),
      // Conformed like a plugin's points: `online` and the seconds are declared int, and a
      // field's type must never change in InfluxDB.
      write: (measurement, fields, device, time) =>
        this.emitter.system({ measurement, fields: conformRuntime(measurement, fields), tags: { device }, time }),
      // Per-group counts only where the whole fleet is seen: an agent's would count its devices a
      // second time in the fleet's sums.
      writeGroup:
        options.place === 'serve'
          ? (measurement, fields, tags, time) =>
              this.emitter.system({ measurement, fields: conformRuntime(measurement, fields), tags, time })
          : undefined,
      statusIntervalS: options.liveness?.status_interval_s,
      missedIntervals: options.liveness?.missed_intervals,
      maintenance: options.liveness?.maintenance,
      siteOutage: {
        share: options.liveness?.site_outage_share,
        windowS: options.liveness?.site_outage_window_s,
        minDevices: options.liveness?.site_outage_min_devices,
      },
      onStates: (counts) => {
        for (const [state, n] of Object.entries(counts)) options.metrics.devices.labels(state).set(n);
      },
    });
  }

  /** Names of the instances that will run, in order. */
  get planned(): string[] {
    return this.instances.map((i) => i.instance);
  }

  /** Whether each planned instance is running now (false while its start is being retried). */
  get running(): Record<string, boolean> {
    return Object.fromEntries(
      this.instances.map((i) => [i.instance, this.slots.some((s) => s.spec === i && s.running !== undefined)]),
    );
  }

  /** Kinds the configured plugins serve (the inventory validates device kinds against them). */
  get kinds(): string[] {
    return [...new Set(this.o.plugins.flatMap((p) => p.kinds))];
  }

  /**
   * Asks every configured plugin serving `device.kind` to check the device before it is stored;
   * the first problem, or undefined.
   */
  async checkDevice(device: DeviceDraft): Promise<DeviceProblem | undefined> {
    for (const { plugin, config } of this.instances) {
      if (!plugin.kinds.includes(device.kind) || !plugin.checkDevice) continue;
      const problem = await plugin.checkDevice(device, config);
      if (problem) return problem;
    }
    return undefined;
  }

  async start(): Promise<void> {
    this.liveness.load(this.clock.now());
    this.liveness.start();
    for (const spec of this.instances) {
      const slot: Slot = { spec, stopper: new AbortController(), connections: new Map() };
      this.slots.push(slot);
      await this.startSlot(slot, new Backoff({ initialMs: 1000, maxMs: 60_000 }), true);
    }
    const every = (this.o.selfMetricsIntervalS ?? 10) * 1000;
    this.selfMetricsTimer = setInterval(() => void this.writeSelfMetrics(), every);
    this.selfMetricsTimer.unref();
  }

  /** Stops plugins in reverse order (each within `deadlineMs`), then liveness; points stay spooled. */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.stopping.abort();
    clearInterval(this.selfMetricsTimer);
    for (const slot of [...this.slots].reverse()) {
      slot.stopper.abort();
      this.o.server?.release(slot.spec.instance);
      if (!slot.running) continue;
      const stopped = slot.running
        .stop()
        .catch((err) => this.o.log.error({ plugin: slot.spec.instance, err }, 'plugin stop failed'));
      // The deadline's timer is cancelled once the plugin stopped: a pending timer would keep the
      // process alive for the whole deadline after shutdown.
      const deadline = new AbortController();
      await Promise.race([stopped, sleep(deadlineMs, deadline.signal)]);
      deadline.abort();
      this.o.metrics.pluginUp.labels(slot.spec.instance).set(0);
    }
    this.liveness.stop(this.clock.now());
    await this.writeSelfMetrics();
    this.emitter.close();
  }

  private async startSlot(slot: Slot, backoff: Backoff, first: boolean): Promise<void> {
    const { spec } = slot;
    const log = this.o.log.child({ plugin: spec.instance });
    try {
      slot.running = await spec.plugin.start(this.context(slot, log));
      this.o.metrics.pluginUp.labels(spec.instance).set(1);
      log.info(first ? 'started' : 'started after retry');
    } catch (err) {
      this.o.metrics.pluginUp.labels(spec.instance).set(0);
      this.o.metrics.pluginEvents.labels(spec.instance, 'start_failed').inc();
      const message = err instanceof Error ? err.message : String(err);
      if (spec.onStartFailure === 'exit') {
        throw new Error(`plugin ${spec.instance} failed to start: ${message}`, { cause: err });
      }
      slot.stopper.abort();
      slot.stopper = new AbortController();
      slot.connections.clear();
      const delay = backoff.next();
      log.error({ err: message, retryInMs: delay }, 'start failed; retrying');
      void sleep(delay, this.stopping.signal).then(() => {
        if (!this.stopping.signal.aborted) return this.startSlot(slot, backoff, false);
      });
    }
  }

  private context(slot: Slot, log: Logger): PluginContext {
    const { plugin, instance, config } = slot.spec;
    const o = this.o;
    const emit = this.emitter.forPlugin(instance, plugin.measurements);
    const target = {
      instance,
      commands: plugin.commands ?? {},
      execute: (deviceId: string, command: Parameters<NonNullable<RunningPlugin['execute']>>[1]) => {
        if (!slot.running?.execute) throw new DeviceUnreachable(deviceId);
        return slot.running.execute(deviceId, command);
      },
    };
    return {
      config,
      instance,
      emit,
      forward: this.emitter.forwarder(instance, this.forwardable),
      committed: () => this.emitter.committed(),
      seen: (deviceId: string, attrs: SeenAttributes = {}) => {
        const now = this.clock.now();
        const watched = o.directory.lookup(deviceId)?.lifecycle === 'active';
        // Only accepted devices are watched: a pending or unknown one writes no device_status
        // or device_attention (50 stray identities must not become 50 series; docs/inventory.md).
        if (watched) this.liveness.seen(deviceId, attrs.state ?? 'online', now, attrs.reason);
        void this.discover(deviceId, plugin, instance, attrs, log).then((record) => {
          // Accepted on discovery (its kind is auto-accepted): watched from this report on.
          if (!watched && record?.lifecycle === 'active')
            this.liveness.seen(deviceId, attrs.state ?? 'online', now, attrs.reason);
        });
      },
      offline: (deviceId: string) => this.liveness.offline(deviceId, this.clock.now()),
      devices: o.directory,
      db: o.pluginDb,
      audit: (entry) => {
        const row = { ...entry, at: this.clock.now(), source: `${instance}:${entry.device}` };
        if (o.audit) o.audit(row);
        else log.info({ audit: row }, 'audit');
      },
      http: o.server?.forPlugin(instance) ?? noHttp(`${instance}: no HTTP server in this process (${o.place})`),
      attach: <C>(deviceId: string, connection: C, options: AttachOptions = {}): Attachment => {
        slot.connections.set(deviceId, connection);
        const detachBus = this.bus.attach(
          deviceId,
          options.commands ? { ...target, commands: options.commands } : target,
        );
        return {
          detach: () => {
            if (slot.connections.get(deviceId) === connection) slot.connections.delete(deviceId);
            detachBus();
          },
        };
      },
      connection: <C>(deviceId: string) => slot.connections.get(deviceId) as C | undefined,
      count: (event: string, by = 1) => o.metrics.pluginEvents.labels(instance, event).inc(by),
      gauge: (name: string, value: number) => o.metrics.pluginGauge.labels(instance, name).set(value),
      log,
      clock: this.clock,
      signal: slot.stopper.signal,
    };
  }

  /**
   * Registers unknown devices as pending and records what known ones say about themselves.
   * Resolves with the record when the directory was asked, else undefined.
   */
  private async discover(
    deviceId: string,
    plugin: Plugin,
    instance: string,
    attrs: SeenAttributes,
    log: Logger,
  ): Promise<DeviceRecord | undefined> {
    const known = this.o.directory.lookup(deviceId);
    const changed =
      !known ||
      (attrs.model !== undefined && attrs.model !== known.model) ||
      (attrs.firmware !== undefined && attrs.firmware !== known.firmware) ||
      (attrs.gateway !== undefined && attrs.gateway !== known.gateway);
    if (!changed) return undefined;
    const { state: _state, reason: _reason, ...reported } = attrs;
    try {
      return await this.o.directory.discover(deviceId, {
        ...reported,
        kind: known?.kind ?? attrs.kind ?? plugin.kinds[0],
      });
    } catch (err) {
      // Over the inventory's bounds on pending devices: the door that admitted it counts that.
      if (err instanceof DiscoveryRefused)
        this.o.metrics.pluginEvents.labels(instance, `discovery_refused_${err.reason}`).inc();
      else log.error({ device: deviceId, err }, 'could not record the device in the inventory');
      return undefined;
    }
  }

  private recordOutcome(outcome: CommandOutcome, instance: string): void {
    this.o.metrics.commands.labels(instance, outcome.command, outcome.status).inc();
    this.o.metrics.commandLatency.labels(outcome.command).observe(outcome.latencyMs / 1000);
  }

  private async writeSelfMetrics(): Promise<void> {
    for (const point of await this.o.metrics.points(this.clock.now())) this.emitter.system(point);
  }
}
