/**
 * Replays a fleet's reports through the runtime's real liveness path — a `Collector` (no plugins)
 * whose `Liveness` writes through the real `Emitter` (inventory tags, field conformance, line
 * encoding) into a sink that keeps the lines — with explicit times, so the Grafana fixture, the
 * attention proofs and the benchmark store exactly what `serve` would write.
 */
import Database from 'better-sqlite3';
import pino from 'pino';
import { Collector } from '../../collector/runtime/collector.ts';
import type { MaintenanceCalendar } from '../../collector/runtime/liveness.ts';
import { SelfMetrics } from '../../collector/runtime/self-metrics.ts';
import { MemoryDirectory, type DeviceRecord } from '../../collector/sdk/index.ts';

/** What a device does at one step: reports (online or error, with an optional reason), or nothing. */
export type Report = { state: 'online' | 'error'; reason?: string } | 'silent' | 'closed';

export interface ReplayOptions {
  devices: Iterable<Omit<DeviceRecord, 'lifecycle'>>;
  /** The device's behaviour at step time `t` (epoch ms). */
  report(id: string, t: number): Report;
  /** In a maintenance window at `t`. */
  maintenance?(id: string, t: number): boolean;
  /**
   * Liveness `status_interval_s` (default 60); devices report every 60 s (no plugin: the runtime's default interval).
   */
  statusIntervalS?: number;
}

export class LivenessReplay {
  readonly lines: string[] = [];
  readonly directory = new MemoryDirectory();
  private readonly collector: Collector;
  private readonly db = new Database(':memory:');
  private loaded = false;

  constructor(private readonly o: ReplayOptions) {
    for (const d of o.devices) this.directory.add(d);
    const calendar: MaintenanceCalendar | undefined = o.maintenance && {
      inMaintenance: (d, now) => o.maintenance!(d.id, now),
    };
    this.collector = new Collector({
      place: 'serve',
      plugins: [],
      pluginConfig: {},
      sink: { append: (line) => void this.lines.push(line), committed: async () => {} },
      db: this.db,
      pluginDb: this.db,
      directory: this.directory,
      metrics: new SelfMetrics('replay'),
      log: pino({ level: 'silent' }),
      liveness: { status_interval_s: o.statusIntervalS ?? 60, maintenance: calendar },
    });
  }

  get liveness() {
    return this.collector.liveness;
  }

  /** Every device does what `report` says at `t`, then the tracker ticks at `t`. */
  step(t: number): void {
    if (!this.loaded) {
      this.liveness.load(t);
      this.loaded = true;
    }
    for (const d of this.directory.all()) {
      const r = this.o.report(d.id, t);
      if (r === 'closed') this.liveness.offline(d.id, t);
      else if (r !== 'silent') this.liveness.seen(d.id, r.state, t, r.reason);
    }
    this.liveness.tick(t);
  }

  /** Steps from `from` to `to` (inclusive) every `stepMs`. */
  run(from: number, to: number, stepMs = 60_000): this {
    for (let t = from; t <= to; t += stepMs) this.step(t);
    return this;
  }

  /** The lines of these measurements (all if none given), and forgets every line kept so far. */
  take(...measurements: string[]): string[] {
    const out =
      measurements.length === 0
        ? this.lines
        : this.lines.filter((l) => measurements.some((m) => l.startsWith(`${m},`) || l.startsWith(`${m} `)));
    this.lines.length = 0;
    return out;
  }

  close(): void {
    this.db.close();
  }
}
