import type { Database, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { InfluxQuery } from '../pipeline/influx-query.ts';
import {
  assembleReport,
  deviceUptime,
  monthRange,
  siteSums,
  type DeviceUptime,
  type SiteSums,
  type UptimeReport,
  type UptimeReportOptions,
} from './uptime-report.ts';

export interface StoredUptimeOptions {
  db: Database;
  influx: Pick<InfluxQuery, 'query'>;
  log: Logger;
  now?: () => number;
  /** The open month is summed again at most this often, min. Default 15. */
  refreshMinutes?: number;
  /**
   * A month is final once summed this long after its end, h: the last hour's rollups and the
   * agents' spooled points are in by then. Default 24.
   */
  settleHours?: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/**
 * The monthly uptime report read from stored sums: InfluxDB sums every device's hourly rollups
 * (seconds at 20,000 devices), so that is done once per month and zone, for every customer at
 * once, and kept in the inventory (migration 11). On the first request, and for the month that
 * just ended once it has settled (`closeMonths`, on a timer); a month that is still open (or not
 * settled) is summed again at most every `refreshMinutes`, in the background: a request meanwhile
 * answers from the stored sums at once.
 */
export class StoredUptime {
  private readonly now: () => number;
  private readonly refreshMs: number;
  private readonly settleMs: number;
  private readonly filling = new Map<string, Promise<void>>();
  private readonly sql: Record<'month' | 'sites' | 'worst', Statement>;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: StoredUptimeOptions) {
    this.now = o.now ?? Date.now;
    this.refreshMs = (o.refreshMinutes ?? 15) * MINUTE;
    this.settleMs = (o.settleHours ?? 24) * HOUR;
    // customer and site: '' matches every one (the report's filters are optional).
    const only = `month = @month AND timezone = @timezone
      AND (@customer = '' OR customer = @customer) AND (@site = '' OR site = @site)`;
    this.sql = {
      month: o.db.prepare('SELECT computed_at FROM uptime_months WHERE month = ? AND timezone = ?').pluck(),
      sites: o.db.prepare(`SELECT customer, site, devices, online_s, error_s, offline_s, maintenance_s
        FROM uptime_sites WHERE ${only}`),
      worst: o.db
        .prepare(`SELECT device, customer, site, online_s, error_s, offline_s, maintenance_s, uptime_pct, down_s
        FROM uptime_down_devices WHERE ${only}
        ORDER BY uptime_pct, down_s DESC, customer, site, device LIMIT @worst`),
    };
  }

  /** The same report as `uptimeReport`, from the stored sums. Throws `ReportError` for a bad month or zone. */
  async report(o: Omit<UptimeReportOptions, 'influx' | 'db'>): Promise<UptimeReport> {
    const timezone = o.timezone ?? 'UTC';
    const range = monthRange(o.month, timezone);
    const computedAt = this.sql.month.get(o.month, timezone) as number | undefined;
    if (computedAt === undefined) await this.fill(o.month, timezone);
    else if (!this.final(computedAt, range.to) && this.now() - computedAt >= this.refreshMs)
      void this.fill(o.month, timezone).catch((err: Error) =>
        this.o.log.warn({ err: err.message, month: o.month, timezone }, 'uptime report not refreshed'),
      );
    const filter = { month: o.month, timezone, customer: o.customer ?? '', site: o.site ?? '' };
    const sites = this.sql.sites.all(filter) as SiteSums[];
    const worst = (this.sql.worst.all({ ...filter, worst: o.worst ?? 10 }) as DeviceUptime[]).map((d) => ({
      ...d,
      customer: d.customer || null,
      site: d.site || null,
    }));
    return assembleReport({ ...o, db: this.o.db, timezone }, sites, worst);
  }

  /** Sums the month that ended (UTC, the default zone) once it has settled, unless it is stored final. */
  async closeMonths(): Promise<void> {
    const now = this.now();
    const thisMonth = new Date(now);
    const month = new Date(Date.UTC(thisMonth.getUTCFullYear(), thisMonth.getUTCMonth()) - 1).toISOString().slice(0, 7);
    const { to } = monthRange(month);
    if (now < to + this.settleMs) return;
    const computedAt = this.sql.month.get(month, 'UTC') as number | undefined;
    if (computedAt === undefined || !this.final(computedAt, to)) await this.fill(month, 'UTC');
  }

  /** Checks every `refreshMinutes` whether a month has closed. */
  start(): void {
    this.timer ??= setInterval(() => {
      this.closeMonths().catch((err: Error) => this.o.log.warn({ err: err.message }, 'closed month not summed'));
    }, this.refreshMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private final(computedAt: number, to: number): boolean {
    return computedAt >= to + this.settleMs;
  }

  /** One InfluxDB query for every customer of the month; concurrent callers share it. */
  private fill(month: string, timezone: string): Promise<void> {
    const key = `${month} ${timezone}`;
    let running = this.filling.get(key);
    if (!running) {
      running = this.sum(month, timezone).finally(() => this.filling.delete(key));
      this.filling.set(key, running);
    }
    return running;
  }

  private async sum(month: string, timezone: string): Promise<void> {
    const computedAt = this.now();
    const devices = await deviceUptime(this.o.influx, monthRange(month, timezone));
    const { db } = this.o;
    const keep = db.prepare(`INSERT INTO uptime_months (month, timezone, computed_at) VALUES (?, ?, ?)`);
    const site = db.prepare(`INSERT INTO uptime_sites
      (month, timezone, customer, site, devices, online_s, error_s, offline_s, maintenance_s)
      VALUES (@month, @timezone, @customer, @site, @devices, @online_s, @error_s, @offline_s, @maintenance_s)`);
    const down = db.prepare(`INSERT INTO uptime_down_devices (month, timezone, customer, site, device,
        online_s, error_s, offline_s, maintenance_s, down_s, uptime_pct)
      VALUES (@month, @timezone, @customer, @site, @device,
        @online_s, @error_s, @offline_s, @maintenance_s, @down_s, @uptime_pct)`);
    db.transaction(() => {
      db.prepare('DELETE FROM uptime_months WHERE month = ? AND timezone = ?').run(month, timezone);
      keep.run(month, timezone, computedAt);
      for (const s of siteSums(devices)) site.run({ month, timezone, ...s });
      for (const d of devices)
        if (d.down_s > 0) down.run({ month, timezone, ...d, customer: d.customer ?? '', site: d.site ?? '' });
    })();
  }
}
