import type { Logger } from 'pino';
import { encodeHead, encodeLine, LineProtocolError } from '../pipeline/line-protocol.ts';
import type { SinkRefusal } from '../pipeline/spool.ts';
import {
  conformFields,
  fieldSetMismatch,
  UndeclaredMeasurement,
  type DeviceDirectory,
  type DeviceRecord,
  type ForwardRefusal,
  type Fields,
  type LineHead,
  type MeasurementSpec,
  type Point,
  type Tags,
} from '../sdk/index.ts';
import type { SelfMetrics } from './self-metrics.ts';

export type { SinkRefusal };

/** Where encoded lines go: the durable spool (serve) or the agent's outbox. */
export interface LineSink {
  /** Queues a line; says why when it did not (the line is then lost, and counted by the sink). */
  append(line: string): SinkRefusal | undefined;
  /** Resolves once every line appended so far is stored; rejects with `PointsRefused` if they were not. */
  committed(): Promise<void>;
}

/**
 * The tags the runtime sets from the inventory on every device point (the device record's
 * fields of the same names, and `device` itself): a forwarded line may not say otherwise.
 */
export const IDENTITY_TAGS = ['device', 'kind', 'model', 'customer', 'site', 'gateway', 'contract'] as const;
const IDENTITY: ReadonlySet<string> = new Set(IDENTITY_TAGS);
/** Forwarded heads remembered per device (see `Emitter.rememberHead`). */
const HEADS_PER_DEVICE = 16;

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
  /** Per device record, forwarded heads as received → as written (see `forwarder`). */
  private readonly forwardedHeads = new WeakMap<DeviceRecord, Map<string, string>>();
  /** Set by serve when rollups are computed. */
  late: LateWatch | undefined;
  /**
   * Whether points get the inventory's tags. Off at the edge: identity is the server's to set,
   * and an edge's opinion of a device's kind or model would only be refused there.
   */
  enriching = true;

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
   * The `forward` of one plugin instance: a line encoded elsewhere (at an edge), checked here and
   * enriched. `allowed` are the measurements an edge may send: nothing else is written, and
   * above all none of the runtime's own. Only the head (measurement and tags) is written anew;
   * fields and timestamp are appended as received, after their types are checked against the
   * declaration (a sender must not change a field's type in InfluxDB for everyone). Answers why
   * a line was refused (counted in `fleetpulse_points_refused_total`), or undefined when spooled.
   */
  forwarder(
    instance: string,
    allowed: ReadonlyMap<string, MeasurementSpec>,
  ): (head: LineHead) => ForwardRefusal | undefined {
    const emitted = this.metrics.emittedBy(instance);
    const refuse = (reason: ForwardRefusal, head: LineHead, why: string): ForwardRefusal => {
      this.metrics.pointsRefused.labels(instance, reason).inc();
      this.warn(instance, head.measurement, why);
      return reason;
    };
    return (head) => {
      if (head.time === undefined) return refuse('no_timestamp', head, 'a forwarded line needs a timestamp');
      const spec = allowed.get(head.measurement);
      if (!spec) return refuse('measurement', head, `measurement "${head.measurement}" may not be forwarded`);
      const record = this.recordOf(head.tags.device);
      const heads = record && head.text !== undefined ? this.forwardedHeads.get(record) : undefined;
      // A head this device sent before, unchanged, and the same inventory record: checked and
      // encoded then (the identity check and the encoding depend on nothing else).
      let encoded = heads?.get(head.text!);
      if (encoded === undefined) {
        // A device the inventory does not know has no identity but its id: it is written under no
        // customer, whatever the line says.
        const identity = (record && this.identityOf(record)) ?? { device: head.tags.device };
        let own = false;
        for (const key in head.tags) {
          if (!IDENTITY.has(key)) own = true;
          else if (head.tags[key] !== identity[key])
            return refuse('identity', head, `tag ${key}="${head.tags[key]}" is not the inventory's`);
        }
        const mismatch = fieldSetMismatch(spec, head.rest);
        if (mismatch !== undefined) return refuse('field_type', head, mismatch);
        try {
          encoded = encodeHead(head.measurement, own ? { ...head.tags, ...identity } : identity);
        } catch (err) {
          if (!(err instanceof LineProtocolError)) throw err;
          return refuse('malformed', head, err.message);
        }
        if (record && head.text !== undefined) this.rememberHead(record, head.text, encoded);
      } else {
        const mismatch = fieldSetMismatch(spec, head.rest);
        if (mismatch !== undefined) return refuse('field_type', head, mismatch);
      }
      const refusal = this.append(encoded + ' ' + head.rest);
      if (refusal !== undefined) return refusal;
      emitted.count++;
      if (this.late !== undefined) {
        // Forwarded lines carry millisecond timestamps (the edge writes them so).
        const time = Number(head.time);
        if (time < this.late.before) this.late.note(head.measurement, time);
      }
      return undefined;
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

  // ForwardRefusal (the SDK's, which imports nothing in-repo) must include every SinkRefusal:
  // this return fails to compile if a sink reason is missing there.
  private append(line: string): ForwardRefusal | undefined {
    if (this.closed) {
      this.metrics.pointsDropped.labels('after_stop').inc();
      return 'stopped';
    }
    return this.sink.append(line);
  }

  private enrich(tags: Tags): Tags {
    const record = this.recordOf(tags.device);
    if (!record) return tags;
    const cached = this.identityOf(record);
    for (const key in tags) if (key !== 'device') return { ...tags, ...cached };
    return cached;
  }

  /** The inventory's record of a device, or undefined when it has none (or this is the edge). */
  private recordOf(id: string | undefined): DeviceRecord | undefined {
    return id === undefined || !this.enriching ? undefined : this.directory.lookup(id);
  }

  /** The inventory's tags of a device. */
  private identityOf(device: DeviceRecord): Tags {
    // Most points carry only `device`: their tag set is built once per device record. Directories
    // hand out a new record when a device changes, so the record itself is the cache key.
    let cached = this.tagSets.get(device);
    if (!cached) {
      cached = { device: device.id };
      for (const key of IDENTITY_TAGS) if (key !== 'device') cached[key] = device[key];
      this.tagSets.set(device, cached);
    }
    return cached;
  }

  private rememberHead(device: DeviceRecord, text: string, encoded: string): void {
    let heads = this.forwardedHeads.get(device);
    if (!heads) this.forwardedHeads.set(device, (heads = new Map<string, string>()));
    // A device sends a few heads (one per measurement and tag set); an edge that invents tag
    // values costs rebuilds, never memory.
    if (heads.size >= HEADS_PER_DEVICE) heads.clear();
    heads.set(text, encoded);
  }

  private refused(instance: string, measurement: string, err: unknown): void {
    if (!(err instanceof UndeclaredMeasurement || err instanceof LineProtocolError)) throw err;
    this.metrics.pointsInvalid.labels(instance, measurement).inc();
    this.warn(instance, measurement, err.message);
  }

  /** Logs a refusal, at most once a minute per plugin and measurement (the rest are only counted). */
  private warn(instance: string, measurement: string, why: string): void {
    const key = `${instance}/${measurement}`;
    const now = Date.now();
    if ((this.lastWarned.get(key) ?? 0) + 60_000 < now) {
      this.lastWarned.set(key, now);
      this.log.warn(
        { plugin: instance, measurement, err: why },
        'point refused (further ones for a minute are only counted)',
      );
    }
  }
}
