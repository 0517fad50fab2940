/**
 * What `/healthz` says about the data path, and the self-metrics that say the same to Grafana:
 * whether InfluxDB answers, when a write last succeeded, what waits in the spool and for how
 * long, how much disk is left. "Degraded" (HTTP 503) when writes have failed for longer than
 * `maxWriteLagS`, or the spool cannot take points (disk full): a load balancer or a monitor
 * sees it, while the process keeps serving and the spool keeps the points.
 */
import { statfsSync } from 'node:fs';
import type { Spool } from './spool.ts';

export interface PipelineHealthOptions {
  spool: Spool;
  /** The directory whose free space is reported (the spool's). */
  dataDir: string;
  /** Whether InfluxDB answers now (`GET /ping`); never throws. */
  ping: () => Promise<boolean>;
  maxWriteLagS: number;
  /** InfluxDB is pinged this often, s, for the reachability gauge. Default 10. */
  probeIntervalS?: number;
  now?: () => number;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  /** Why degraded: `writes_failing`, `disk_full`. Empty when ok. */
  reasons: string[];
  influx: {
    reachable: boolean;
    /** ISO time of the last successful write, null before the first. */
    last_write_at: string | null;
    /** ISO time since which every write has failed, null while they succeed. */
    failing_since: string | null;
  };
  spool: {
    points: number;
    bytes: number;
    /** Age of the oldest waiting point by its own timestamp, s; null when the spool is empty. */
    oldest_age_s: number | null;
    disk_full: boolean;
  };
  disk: { free_bytes: number | null };
}

export class PipelineHealth {
  private lastWriteAt: number | undefined;
  private failingSince: number | undefined;
  private reachable = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly o: PipelineHealthOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Pings InfluxDB now and every `probeIntervalS`; the timer does not hold the process open. */
  start(): void {
    void this.probe();
    this.timer = setInterval(() => void this.probe(), (this.o.probeIntervalS ?? 10) * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A batch was stored. */
  written(): void {
    this.lastWriteAt = this.now();
    this.failingSince = undefined;
    this.reachable = true;
  }

  /** A write failed and will be retried (InfluxDB unreachable, 5xx, timeout). */
  writeFailed(): void {
    this.failingSince ??= this.now();
  }

  async probe(): Promise<boolean> {
    this.reachable = await this.o.ping();
    return this.reachable;
  }

  /** The values of the self-metrics, as of the last probe. */
  snapshot(): {
    reachable: boolean;
    lastWriteAt: number | undefined;
    oldestAgeS: number | undefined;
    diskFreeBytes: number | undefined;
  } {
    return {
      reachable: this.reachable,
      lastWriteAt: this.lastWriteAt,
      oldestAgeS: this.oldestAgeS(),
      diskFreeBytes: this.diskFreeBytes(),
    };
  }

  async report(): Promise<HealthReport> {
    const reachable = await this.probe();
    const now = this.now();
    // The spool decides it (a failed commit) and ends it (a probe write that fits).
    const diskFull = this.o.spool.diskFull;
    const reasons: string[] = [];
    if (this.failingSince !== undefined && now - this.failingSince > this.o.maxWriteLagS * 1000)
      reasons.push('writes_failing');
    if (diskFull) reasons.push('disk_full');
    const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
    const size = this.o.spool.size();
    return {
      status: reasons.length ? 'degraded' : 'ok',
      reasons,
      influx: { reachable, last_write_at: iso(this.lastWriteAt), failing_since: iso(this.failingSince) },
      spool: { points: size.points, bytes: size.bytes, oldest_age_s: this.oldestAgeS() ?? null, disk_full: diskFull },
      disk: { free_bytes: this.diskFreeBytes() ?? null },
    };
  }

  private diskFreeBytes(): number | undefined {
    try {
      const fs = statfsSync(this.o.dataDir);
      return fs.bavail * fs.bsize;
    } catch {
      return undefined;
    }
  }

  /** From the timestamp (ms, the spool's precision) ending the oldest committed line. */
  private oldestAgeS(): number | undefined {
    if (this.o.spool.size().points === 0) return undefined;
    const line = this.o.spool.read(0, 1)?.lines()[0];
    const time = line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
    return Number.isFinite(time) ? Math.max(0, (this.now() - time) / 1000) : undefined;
  }
}
