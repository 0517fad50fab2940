import { hostname } from 'node:os';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FieldSpec, MeasurementSpec, Point } from '../sdk/index.ts';

/**
 * The collector's own metrics: one prom-client registry per process, served on `/metrics` and
 * written to InfluxDB as `fleetpulse_*` points (measurement = metric name, labels = tags, one
 * `value` field; histograms as `sum` and `count`), so that Grafana can alert on the collector
 * with the same datasource as on the devices.
 */
export class SelfMetrics {
  readonly registry = new Registry();
  readonly pointsEmitted = new Counter({
    name: 'fleetpulse_points_emitted_total',
    help: 'Points accepted into the spool, by plugin',
    labelNames: ['plugin'],
    registers: [this.registry],
    collect: () => this.collectEmitted(),
  });
  /** Emitted points not yet added to `pointsEmitted`, by plugin (see `emittedBy`). */
  private readonly emitted = new Map<string, { count: number }>();
  readonly pointsInvalid = new Counter({
    name: 'fleetpulse_points_invalid_total',
    help: 'Points refused at emit (undeclared, NaN, ...), by plugin and measurement',
    labelNames: ['plugin', 'measurement'],
    registers: [this.registry],
  });
  readonly pointsRefused = new Counter({
    name: 'fleetpulse_points_refused_total',
    help: 'Forwarded lines (from edges) refused, by plugin and reason (identity, measurement, field_type, no_timestamp, malformed, spool_full, ...)',
    labelNames: ['plugin', 'reason'],
    registers: [this.registry],
  });
  readonly pointsWritten = new Counter({
    name: 'fleetpulse_points_written_total',
    help: 'Points stored by the writer',
    registers: [this.registry],
  });
  readonly pointsDropped = new Counter({
    name: 'fleetpulse_points_dropped_total',
    help: 'Points lost on purpose, by reason (spool_full, dead_letter; at an agent also refused_<reason> for lines the server refused)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly writeErrors = new Counter({
    name: 'fleetpulse_write_errors_total',
    help: 'Failed writes, by kind (retry, too_large, rejected)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly writeLatency = new Histogram({
    name: 'fleetpulse_write_latency_seconds',
    help: 'Time to write one batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** Set by the process that owns the spool; read whenever metrics are collected. */
  spoolSize: (() => { points: number; bytes: number }) | undefined;
  readonly spoolPoints = new Gauge({
    name: 'fleetpulse_spool_points',
    help: 'Points waiting in the spool',
    registers: [this.registry],
    collect: () => this.collectSpool(),
  });
  readonly spoolBytes = new Gauge({
    name: 'fleetpulse_spool_bytes',
    help: 'Line bytes waiting in the spool',
    registers: [this.registry],
    collect: () => this.collectSpool(),
  });
  /** Set by `serve` (collector/pipeline/health.ts); read whenever metrics are collected. */
  health:
    | (() => {
        reachable: boolean;
        lastWriteAt: number | undefined;
        oldestAgeS: number | undefined;
        diskFreeBytes: number | undefined;
      })
    | undefined;
  // One snapshot sets all four (the first one's collect): the oldest age reads a spool row.
  readonly influxReachable = new Gauge({
    name: 'fleetpulse_influx_reachable',
    help: '1 when InfluxDB answered the last ping (every 10 s)',
    registers: [this.registry],
    collect: () => this.collectHealth(),
  });
  readonly lastWrite = new Gauge({
    name: 'fleetpulse_last_write_timestamp_seconds',
    help: 'Unix time of the last successful write to InfluxDB, s (0: none since start)',
    registers: [this.registry],
  });
  readonly spoolOldestAge = new Gauge({
    name: 'fleetpulse_spool_oldest_age_seconds',
    help: 'Age of the oldest point waiting in the spool, by its timestamp, s (0: empty)',
    registers: [this.registry],
  });
  readonly diskFree = new Gauge({
    name: 'fleetpulse_data_disk_free_bytes',
    help: 'Free disk space in data_dir, bytes',
    registers: [this.registry],
  });
  readonly pluginUp = new Gauge({
    name: 'fleetpulse_plugin_up',
    help: '1 when the plugin instance is running',
    labelNames: ['plugin'],
    registers: [this.registry],
  });
  readonly pluginEvents = new Counter({
    name: 'fleetpulse_plugin_events_total',
    help: 'Events a plugin counts (malformed frames, refused handshakes, ...)',
    labelNames: ['plugin', 'event'],
    registers: [this.registry],
  });
  readonly pluginGauge = new Gauge({
    name: 'fleetpulse_plugin_gauge',
    help: 'Gauges a plugin sets (connections, ...)',
    labelNames: ['plugin', 'name'],
    registers: [this.registry],
  });
  readonly devices = new Gauge({
    name: 'fleetpulse_devices',
    help: 'Watched devices by liveness state',
    labelNames: ['state'],
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'fleetpulse_auth_failures_total',
    help: 'Failed API authentications, by reason (missing_key, malformed_header, invalid_key, blocked)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly commands = new Counter({
    name: 'fleetpulse_commands_total',
    help: 'Commands ended, by plugin, command and outcome',
    labelNames: ['plugin', 'command', 'outcome'],
    registers: [this.registry],
  });
  readonly rollupErrors = new Counter({
    name: 'fleetpulse_downsampler_errors_total',
    help: 'Rollup queries that failed (their hours are retried on the next pass)',
    labelNames: ['measurement'],
    registers: [this.registry],
  });
  readonly rollupPoints = new Counter({
    name: 'fleetpulse_downsampler_points_total',
    help: 'Rollup points written (one per group and hour computed)',
    labelNames: ['measurement'],
    registers: [this.registry],
  });
  readonly rollupSeconds = new Histogram({
    name: 'fleetpulse_downsampler_run_seconds',
    help: 'Time to compute a run of adjacent hours of one rollup',
    labelNames: ['measurement'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly backups = new Counter({
    name: 'fleetpulse_backups_total',
    help: 'Backups of the inventory and InfluxDB, by result (ok, failed)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly lastBackup = new Gauge({
    name: 'fleetpulse_backup_last_success_seconds',
    help: 'Unix time of the last complete backup (0: none since start)',
    registers: [this.registry],
  });
  readonly historyPruned = new Counter({
    name: 'fleetpulse_history_pruned_total',
    help: 'History rows deleted after inventory.history_days, by table',
    labelNames: ['table'],
    registers: [this.registry],
  });
  readonly httpRefused = new Counter({
    name: 'fleetpulse_http_refused_total',
    help: 'HTTP requests refused before routing, by reason (network_not_allowed)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly tlsReloads = new Counter({
    name: 'fleetpulse_tls_reloads_total',
    help: 'TLS certificate reloads on SIGHUP, by result (ok, failed)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly commandLatency = new Histogram({
    name: 'fleetpulse_command_latency_seconds',
    help: 'Time from dispatch to outcome',
    labelNames: ['command'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [this.registry],
  });

  readonly httpRequests = new Counter({
    name: 'fleetpulse_http_requests_total',
    help: 'HTTP requests answered, by route template (unmatched: no route), method and status class (2xx ... 5xx)',
    labelNames: ['route', 'method', 'status_class'],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'fleetpulse_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template, method and status class',
    labelNames: ['route', 'method', 'status_class'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly inventoryErrors = new Counter({
    name: 'fleetpulse_inventory_errors_total',
    help: 'API requests that failed on an inventory (SQLite) error, by SQLite code',
    labelNames: ['code'],
    registers: [this.registry],
  });

  constructor(private readonly host = hostname()) {}

  /** One answered HTTP request (api/request-metrics.ts calls it for every response). */
  httpRequest(labels: { route: string; method: string; status_class: string }, seconds: number): void {
    this.httpRequests.labels(labels).inc();
    this.httpDuration.labels(labels).observe(seconds);
  }

  /** The drain's counters, as `serve` wires them (dead-lettered points count as dropped). */
  drainMetrics(): {
    written(points: number, seconds: number): void;
    writeError(kind: string): void;
    deadLettered(points: number): void;
  } {
    return {
      written: (n, s) => {
        this.pointsWritten.inc(n);
        this.writeLatency.observe(s);
      },
      writeError: (kind) => this.writeErrors.labels(kind).inc(),
      deadLettered: (n) => this.pointsDropped.labels('dead_letter').inc(n),
    };
  }

  /**
   * The emitter's count of a plugin's accepted points: a plain number it increments, added to
   * `pointsEmitted` whenever metrics are collected. prom-client's `inc()` for every point cost 6%
   * of the pipeline's CPU (a label lookup and a map update each time).
   */
  emittedBy(plugin: string): { count: number } {
    let counter = this.emitted.get(plugin);
    if (!counter) {
      counter = { count: 0 };
      this.emitted.set(plugin, counter);
    }
    return counter;
  }

  private collectEmitted(): void {
    for (const [plugin, counter] of this.emitted) {
      if (counter.count === 0) continue;
      this.pointsEmitted.labels(plugin).inc(counter.count);
      counter.count = 0;
    }
  }

  private collectSpool(): void {
    const size = this.spoolSize?.();
    if (!size) return;
    this.spoolPoints.set(size.points);
    this.spoolBytes.set(size.bytes);
  }

  /**
   * The measurements `points` writes, as declarations: an edge forwards its own self-metrics, and
   * the server checks them like any other forwarded line (every field a float).
   */
  specs(): MeasurementSpec[] {
    const value: FieldSpec = { type: 'float', description: "The metric's value" };
    return this.registry.getMetricsAsArray().map((m): MeasurementSpec => ({
      name: m.name,
      description: m.help,
      tags: {},
      fields: String(m.type) === 'histogram' ? { sum: value, count: value } : { value },
    }));
  }

  private collectHealth(): void {
    const health = this.health?.();
    if (!health) return;
    this.influxReachable.set(health.reachable ? 1 : 0);
    this.lastWrite.set((health.lastWriteAt ?? 0) / 1000);
    this.spoolOldestAge.set(health.oldestAgeS ?? 0);
    if (health.diskFreeBytes !== undefined) this.diskFree.set(health.diskFreeBytes);
  }

  /** The current values as points, stamped `time` (ms). */
  async points(time: number): Promise<Point[]> {
    const points: Point[] = [];
    const healthNames = new Set(
      [this.influxReachable, this.lastWrite, this.spoolOldestAge, this.diskFree].map(
        (g) => (g as unknown as { name: string }).name,
      ),
    );
    for (const metric of await this.registry.getMetricsAsJSON()) {
      // A process that writes to no InfluxDB (the agent) has no data-path health to report.
      if (!this.health && healthNames.has(metric.name)) continue;
      for (const sample of metric.values) {
        let field = 'value';
        if (String(metric.type) === 'histogram') {
          const name = (sample as { metricName?: string }).metricName ?? '';
          if (name.endsWith('_sum')) field = 'sum';
          else if (name.endsWith('_count')) field = 'count';
          else continue; // buckets stay on /metrics; InfluxQL works from sum and count
        }
        const tags: Record<string, string> = { host: this.host };
        for (const [k, v] of Object.entries(sample.labels)) tags[k] = String(v);
        points.push({ measurement: metric.name, tags, fields: { [field]: sample.value }, time });
      }
    }
    return points;
  }
}
