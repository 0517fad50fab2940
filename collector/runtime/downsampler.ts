/**
 * The downsampler: derives the hourly per-group rollups declared on measurements (`rollup`, see
 * rollups.ts) from the raw points already in InfluxDB, and writes them through the runtime's
 * normal path (emitter → spool → drain). It reads InfluxDB rather than the in-process stream so
 * that points forwarded by edge agents, replayed from spools or written by another `serve` node
 * are counted too.
 *
 * Stateless and restart-safe: a rollup point for (group, hour) is rewritten whole each time its
 * hour is computed (same series and timestamp overwrite in InfluxDB), so late points and restarts
 * are healed by computing again. On start it computes the last `backfillHours`; then every
 * `intervalS` the `recentHours` newest (the current hour and the one before: late data). Adjacent
 * hours are read by one query per rollup (up to `MAX_HOURS_PER_QUERY`): InfluxDB 1.x pays per
 * series and field read far more than per point. Hours whose query fails are counted, logged and
 * tried again on the next pass; the loop never throws.
 *
 * Points older than the recent hours (an agent's outbox after a day offline, a charger's
 * buffered meter values) are reported to it as they are spooled (`LateWatch`, see the emitter):
 * their hours are computed again on the next pass, up to `lateHours` back.
 */
import type { Logger } from 'pino';
import type { Counter, Histogram } from 'prom-client';
import { sleep } from '../pipeline/backoff.ts';
import type { InfluxQuery, Series } from '../pipeline/influx-query.ts';
import { conformFields, type MeasurementSpec, type Point } from '../sdk/index.ts';
import { foldHours, HOUR_MS, hourOf, hourQueries, rollupMeasurement, type RollupSpec } from './rollups.ts';
import { customerRollupMeasurement, sumPerCustomer, type CustomerRollupSpec } from './customer-rollups.ts';
import type { LateWatch } from './emitter.ts';
import type { SelfMetrics } from './self-metrics.ts';

export interface DownsamplerOptions {
  /** InfluxQL client on the database the raw points are in. */
  query: InfluxQuery;
  /** Writes a rollup point (serve: the emitter's `system`, so it goes through the spool). */
  write(point: Point): void;
  /** Every declared measurement; those with a `rollup` are rolled up, the others ignored. */
  measurements: readonly MeasurementSpec[];
  log: Logger;
  /** Errors, points and durations are counted in its registry (`fleetpulse_downsampler_*`). */
  metrics?: SelfMetrics;
  /** Seconds between passes over the recent hours. Default 300. */
  intervalS?: number;
  /** Hours computed at every pass, the current one included. Default 2 (current and previous). */
  recentHours?: number;
  /** Hours computed once at start, the current one included. Default 24. */
  backfillHours?: number;
  /** How far back a late point's hour is computed again, hours. Default 168 (a week). */
  lateHours?: number;
  clock?: { now(): number };
}

/** Hours read by one query at most (bounds the answer: devices × hours rows for counters). */
export const MAX_HOURS_PER_QUERY = 24;

/** What computing a run of adjacent hours of one rollup gave. */
export interface HourOutcome {
  measurement: string;
  /** Start of the first hour, epoch ms. */
  hour: number;
  hours: number;
  /** Rollup points written (one per group and hour with data). */
  points: number;
  ms: number;
  error?: string;
}

export class Downsampler implements LateWatch {
  /** The rollups this process computes, by source measurement name. */
  readonly rollups: RollupSpec<MeasurementSpec>[];
  /** The `<name>_customer_hourly` rollups (`rollup.perCustomer`), by `<name>_hourly`'s name. */
  private readonly perCustomer = new Map<string, CustomerRollupSpec<MeasurementSpec>>();
  private readonly o: Required<Omit<DownsamplerOptions, 'metrics'>> & Pick<DownsamplerOptions, 'metrics'>;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;
  /**
   * Hours to compute on the next pass besides the recent ones, by source measurement: the
   * backfill's, those whose query failed, and those late points arrived in. The value is when
   * the hour may leave after a successful pass: a late point is noted when it is spooled, and
   * the drain may write it to InfluxDB only later (a backlog), so a late hour is computed on
   * every pass until no point of it has been noted for two intervals.
   */
  private readonly pending = new Map<string, Map<number, number>>();
  /** Points older than this (epoch ms) are late: the next pass's recent hours do not hold them. */
  before: number;
  private readonly errors: Counter<'measurement'> | undefined;
  private readonly written: Counter<'measurement'> | undefined;
  private readonly duration: Histogram<'measurement'> | undefined;

  /** Throws (naming measurement and field) when a declared rollup is invalid. */
  constructor(options: DownsamplerOptions) {
    this.o = {
      intervalS: 300,
      recentHours: 2,
      backfillHours: 24,
      lateHours: 168,
      clock: { now: () => Date.now() },
      ...stripUndefined(options),
    };
    this.rollups = [];
    for (const m of options.measurements) {
      if (!m.rollup || this.pending.has(m.name)) continue;
      this.pending.set(m.name, new Map());
      this.rollups.push(rollupMeasurement(m));
      if (m.rollup.perCustomer) this.perCustomer.set(this.rollups.at(-1)!.name, customerRollupMeasurement(m));
    }
    this.before = this.nextPassFrom();
    this.errors = options.metrics?.rollupErrors;
    this.written = options.metrics?.rollupPoints;
    this.duration = options.metrics?.rollupSeconds;
  }

  /** Backfills, then passes every `intervalS` until `stop()`. Returns at once. */
  start(): void {
    if (this.loop || this.rollups.length === 0) return;
    this.loop = this.run();
  }

  /**
   * Ends the loop: waits for it up to `deadlineMs` (a query in flight may take longer; its
   * answer is then dropped, nothing is written after stop).
   */
  async stop(deadlineMs = 5000): Promise<void> {
    this.stopper.abort();
    if (!this.loop) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(timer);
  }

  get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  /** Computes the given hours (epoch ms, any time inside the hour) of every rollup, oldest first; never throws. */
  async computeHours(hours: Iterable<number>): Promise<HourOutcome[]> {
    const out: HourOutcome[] = [];
    const adjacent = runs(hours);
    for (const spec of this.rollups) {
      for (const run of adjacent) {
        if (this.stopped) return out;
        out.push(await this.computeRun(spec, run.from, run.hours));
      }
    }
    return out;
  }

  /** A point of `measurement` older than `before` was spooled: its hour is computed on the next pass. */
  note(measurement: string, time: number): void {
    const pending = this.pending.get(measurement);
    if (pending && time >= this.oldestKept())
      pending.set(hourOf(time), this.o.clock.now() + 2 * this.o.intervalS * 1000);
  }

  /** The last `n` hours up to now, the current one included, oldest first. */
  lastHours(n: number): number[] {
    const current = hourOf(this.o.clock.now());
    return Array.from({ length: n }, (_, i) => current - (n - 1 - i) * HOUR_MS);
  }

  private async run(): Promise<void> {
    for (const spec of this.rollups)
      for (const hour of this.lastHours(this.o.backfillHours)) this.pending.get(spec.source.name)!.set(hour, 0);
    const started = performance.now();
    const first = await this.pass([]);
    if (first.length > 0) {
      this.o.log.info(
        {
          hours: this.o.backfillHours,
          rollups: this.rollups.map((r) => r.name),
          points: sum(first, 'points'),
          failed: first.filter((h) => h.error).length,
          s: Math.round(performance.now() - started) / 1000,
        },
        'rollups backfilled',
      );
    }
    while (!this.stopped) {
      await sleep(this.o.intervalS * 1000, this.stopper.signal);
      if (this.stopped) break;
      await this.pass(this.lastHours(this.o.recentHours));
    }
  }

  /** One pass: the pending hours and the `recent` ones, per rollup. */
  private async pass(recent: number[]): Promise<HourOutcome[]> {
    const out: HourOutcome[] = [];
    this.before = this.nextPassFrom();
    // Pending hours are kept for the next pass, but not beyond the late window (bounded).
    const oldest = this.oldestKept();
    for (const spec of this.rollups) {
      const pending = this.pending.get(spec.source.name)!;
      for (const hour of pending.keys()) if (hour < oldest) pending.delete(hour);
      const started = this.o.clock.now();
      for (const run of runs([...pending.keys(), ...recent])) {
        if (this.stopped) return out;
        const outcome = await this.computeRun(spec, run.from, run.hours);
        for (let i = 0; i < run.hours; i++) {
          const hour = run.from + i * HOUR_MS;
          if (outcome.error) pending.set(hour, pending.get(hour) ?? 0);
          else if ((pending.get(hour) ?? 0) <= started) pending.delete(hour);
        }
        out.push(outcome);
      }
    }
    return out;
  }

  /**
   * The start of the recent hours of the pass after next: a point older than this is not in any
   * recent window before then (twice the interval, since a pass may start late).
   */
  private nextPassFrom(): number {
    return hourOf(this.o.clock.now() + 2 * this.o.intervalS * 1000) - (this.o.recentHours - 1) * HOUR_MS;
  }

  private oldestKept(): number {
    return (
      hourOf(this.o.clock.now()) - (Math.max(this.o.backfillHours, this.o.recentHours, this.o.lateHours) - 1) * HOUR_MS
    );
  }

  private async computeRun(spec: RollupSpec<MeasurementSpec>, from: number, hours: number): Promise<HourOutcome> {
    const started = performance.now();
    const to = from + hours * HOUR_MS;
    const outcome: HourOutcome = { measurement: spec.name, hour: from, hours, points: 0, ms: 0 };
    try {
      const q = hourQueries(spec.source, from, to);
      const answers = {
        sums: q.sums === undefined ? undefined : await this.o.query.query(q.sums),
        positives: [] as Series[][],
        counters: q.counters === undefined ? undefined : await this.o.query.query(q.counters),
      };
      for (const p of q.positives) answers.positives.push(await this.o.query.query(p.query));
      // Nothing is written after stop: the emitter may be closed already.
      if (this.stopped) return outcome;
      const points = foldHours(spec, from, to, answers);
      const coarse = this.perCustomer.get(spec.name);
      const written: [MeasurementSpec, Point[]][] = [[spec, points]];
      if (coarse) written.push([coarse, sumPerCustomer(coarse, points)]);
      for (const [m, list] of written) {
        for (const point of list) {
          this.o.write({ ...point, fields: conformFields(m, point.fields) });
          outcome.points++;
        }
      }
      this.written?.labels(spec.name).inc(outcome.points);
    } catch (err) {
      outcome.error = (err as Error).message;
      this.errors?.labels(spec.name).inc();
      this.o.log.warn(
        { rollup: spec.name, from: new Date(from).toISOString(), hours, err: outcome.error },
        'rollup failed; tried again on the next pass',
      );
    }
    outcome.ms = performance.now() - started;
    this.duration?.labels(spec.name).observe(outcome.ms / 1000);
    return outcome;
  }
}

/**
 * Hours (any time inside them) as runs of adjacent hour starts, oldest first, each at most MAX_HOURS_PER_QUERY long.
 */
export function runs(hours: Iterable<number>): { from: number; hours: number }[] {
  const sorted = [...new Set([...hours].map(hourOf))].sort((a, b) => a - b);
  const out: { from: number; hours: number }[] = [];
  for (const h of sorted) {
    const last = out.at(-1);
    if (last && h === last.from + last.hours * HOUR_MS && last.hours < MAX_HOURS_PER_QUERY) last.hours++;
    else out.push({ from: h, hours: 1 });
  }
  return out;
}

function sum(list: HourOutcome[], key: 'points' | 'ms'): number {
  return list.reduce((a, h) => a + h[key], 0);
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
