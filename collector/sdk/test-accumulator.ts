import Database from 'better-sqlite3';
import { noHttp } from './no-http.ts';
import pino from 'pino';
import { conformFields } from './conform.ts';
import type { DeviceDirectory } from './devices.ts';
import { MemoryDirectory } from './memory-directory.ts';
import type { LineHead } from './line-head.ts';
import type { Static, TSchema } from 'typebox';
import type { Attachment, DeviceAudit, PluginContext, PluginDefinition, PluginHttp, SeenAttributes } from './plugin.ts';
import type { Fields, Point, Tags } from './point.ts';

/**
 * A plugin context for unit tests, without the runtime: it records what the plugin emits and
 * reports, and throws at once on a point that does not match the plugin's declarations (the
 * runtime would only count it). HTTP is not available here; test routes through the runtime.
 */
export class TestAccumulator<C extends TSchema = TSchema> {
  readonly points: Point[] = [];
  /** Lines handed on with `ctx.forward`, heads as given (the runtime would enrich them). */
  readonly forwarded: LineHead[] = [];
  readonly seen: Array<{ device: string } & SeenAttributes> = [];
  readonly offline: string[] = [];
  readonly audits: DeviceAudit[] = [];
  readonly events = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  readonly connections = new Map<string, unknown>();
  readonly context: PluginContext<Static<C>>;
  private readonly stopper = new AbortController();
  now = Date.now();

  constructor(
    plugin: PluginDefinition<C>,
    /** Normally `validatePluginConfig(plugin, …)`: the defaults applied, as the runtime does. */
    config: Static<C>,
    options: { directory?: DeviceDirectory; http?: PluginHttp; db?: Database.Database } = {},
  ) {
    const declared = new Map(plugin.measurements.map((m) => [m.name, m]));
    this.context = {
      config,
      instance: plugin.name,
      emit: (measurement: string, fields: Fields, tags: Tags = {}, time = this.now) => {
        const spec = declared.get(measurement);
        if (!spec) throw new Error(`measurement "${measurement}" is not declared by ${plugin.name}`);
        this.points.push({ measurement, fields: conformFields(spec, fields), tags, time });
      },
      forward: (head) => void this.forwarded.push(head),
      committed: async () => {},
      seen: (device, attrs = {}) => void this.seen.push({ device, ...attrs }),
      offline: (device) => void this.offline.push(device),
      devices: options.directory ?? new MemoryDirectory(),
      db: options.db ?? new Database(':memory:'),
      audit: (entry) => void this.audits.push(entry),
      http: options.http ?? noHttp('TestAccumulator has no HTTP server: pass options.http or test through the runtime'),
      attach: <C>(device: string, connection: C): Attachment => {
        this.connections.set(device, connection);
        return { detach: () => void (this.connections.get(device) === connection && this.connections.delete(device)) };
      },
      connection: <C>(device: string) => this.connections.get(device) as C | undefined,
      count: (event, by = 1) => void this.events.set(event, (this.events.get(event) ?? 0) + by),
      gauge: (name, value) => void this.gauges.set(name, value),
      log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
      clock: { now: () => this.now },
      signal: this.stopper.signal,
    };
  }

  /** Points of one measurement, optionally of one device. */
  of(measurement: string, device?: string): Point[] {
    return this.points.filter(
      (p) => p.measurement === measurement && (device === undefined || p.tags.device === device),
    );
  }

  stop(): void {
    this.stopper.abort();
  }
}
