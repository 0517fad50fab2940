import type { Logger } from 'pino';
import { encodeHead, encodeLine, LineProtocolError } from '../pipeline/line-protocol.ts';
import {
  conformFields,
  UndeclaredMeasurement,
  type DeviceDirectory,
  type DeviceRecord,
  type Fields,
  type LineHead,
  type MeasurementSpec,
  type Point,
  type Tags,
} from '../sdk/index.ts';
import type { SelfMetrics } from './self-metrics.ts';

/**
 * Why a sink did not take a line (it counts the line itself): `spool_full` by the spool's own
 * bound and policy, `disk_full` while the disk under it is full.
 */
export type SinkRefusal = 'spool_full' | 'disk_full';

/** Where encoded lines go: the durable spool (serve) or the agent's outbox. */
export interface LineSink {
  append(line: string): SinkRefusal | undefined;
  /** Resolves once every line appended so far is stored; rejects with `PointsRefused` if they were not. */
  committed(): Promise<void>;
}

/**
 * Told of plugin points older than `before` (epoch ms) as they are spooled: the downsampler,
 * which then computes their hours' rollups again. Points the runtime writes itself are not
 * reported (rollup points are stamped at their hour's start and would report themselves).
 */
export interface LateWatch {
  readonly before: number;
  note(measurement: string, time: number): void;
}

export type EmitFn = (measurement: string, fields: Fields, tags?: Tags, time?: number) => void;

/**
 * The path of every point: check against the declaration, add inventory tags, encode, spool.
 * A bad point is refused, counted and logged (at most once a minute per plugin and
 * measurement); it never throws into the plugin's loop.
 */
export class Emitter {
  private closed = false;
  private readonly lastWarned = new Map<string, number>();
  /** Inventory tags per device id (see `enrich`). */
  private readonly tagSets = new WeakMap<DeviceRecord, Tags>();
  /** Set by serve when rollups are computed. */
  late: LateWatch | undefined;

  constructor(
    private readonly sink: LineSink,
    private readonly directory: DeviceDirectory,
    private readonly metrics: SelfMetrics,
    private readonly log: Logger,
    private readonly clock: { now(): number },
  ) {}

  /** The `emit` of one plugin instance, bound to its declared measurements. */
  forPlugin(instance: string, measurements: readonly MeasurementSpec[]): EmitFn {
    const declared = new Map(measurements.map((m) => [m.name, m]));
    const emitted = this.metrics.emittedBy(instance);
    return (measurement, fields, tags = {}, time = this.clock.now()) => {
      try {
        const spec = declared.get(measurement);
        if (!spec) throw new UndeclaredMeasurement(`measurement "${measurement}" is not declared by ${instance}`);
        this.write({ measurement, fields: conformFields(spec, fields), tags: this.enrich(tags), time });
        emitted.count++;
        if (this.late !== undefined && time < this.late.before) this.late.note(measurement, time);
      } catch (err) {
        this.refused(instance, measurement, err);
      }
    };
  }

  /**
   * The `forward` of one plugin instance: a line encoded elsewhere, enriched here. Only the head
   * (measurement and tags) is written anew; fields and timestamp are appended as received.
   */
  forwarder(instance: string): (head: LineHead) => void {
    const emitted = this.metrics.emittedBy(instance);
    return (head) => {
      if (head.time === undefined) {
        this.refused(instance, head.measurement, new LineProtocolError('a forwarded line needs a timestamp', head.measurement));
        return;
      }
      try {
        this.append(`${encodeHead(head.measurement, this.enrich(head.tags))} ${head.rest}`);
        emitted.count++;
        if (this.late !== undefined) {
          // Forwarded lines carry millisecond timestamps (the edge writes them so).
          const time = Number(head.time);
          if (time < this.late.before) this.late.note(head.measurement, time);
        }
      } catch (err) {
        this.refused(instance, head.measurement, err);
      }
    };
  }

  /** Writes a point the runtime itself produces (liveness, self-metrics). */
  system(point: Point): void {
    try {
      this.write({ ...point, tags: this.enrich(point.tags) });
    } catch (err) {
      this.refused('runtime', point.measurement, err);
    }
  }

  committed(): Promise<void> {
    return this.sink.committed();
  }

  /**
   * Ends spooling: a plugin's socket that closes after the runtime stopped may still report;
   * such points are counted as dropped (`after_stop`) instead of reaching a closed spool.
   */
  close(): void {
    this.closed = true;
  }

  private write(point: Point): void {
    this.append(encodeLine(point));
  }

  private append(line: string): void {
    if (this.closed) {
      this.metrics.pointsDropped.labels('after_stop').inc();
      return;
    }
    this.sink.append(line);
  }

  private enrich(tags: Tags): Tags {
    const id = tags.device;
    const device = id === undefined ? undefined : this.directory.lookup(id);
    if (!device) return tags;
    // Most points carry only `device`: their tag set is built once per device record. Directories
    // hand out a new record when a device changes, so the record itself is the cache key.
    let cached = this.tagSets.get(device);
    if (!cached) {
      cached = { device: id, kind: device.kind, model: device.model, customer: device.customer, site: device.site, gateway: device.gateway };
      this.tagSets.set(device, cached);
    }
    for (const key in tags) if (key !== 'device') return { ...tags, ...cached };
    return cached;
  }

  private refused(instance: string, measurement: string, err: unknown): void {
    if (!(err instanceof UndeclaredMeasurement || err instanceof LineProtocolError)) throw err;
    this.metrics.pointsInvalid.labels(instance, measurement).inc();
    const key = `${instance}/${measurement}`;
    const now = Date.now();
    if ((this.lastWarned.get(key) ?? 0) + 60_000 < now) {
      this.lastWarned.set(key, now);
      this.log.warn({ plugin: instance, measurement, err: err.message }, 'point refused (further ones for a minute are only counted)');
    }
  }
}
