import type { Database } from 'better-sqlite3';
import { Refusal } from '../errors.ts';
import { quoteString, rows, type InfluxQuery } from '../pipeline/influx-query.ts';
import { deviceAvailability } from '../runtime/measurements.ts';
import { incidentStats, type IncidentStats } from './incident-stats.ts';
import { localToInstant } from '../sdk/zoned-time.ts';

/** SLA target by contract, % of up time. Override with `slaTargets`. */
export const DEFAULT_SLA_TARGETS: Record<string, number> = { basic: 99.0, standard: 99.5, premium: 99.9 };

/**
 * How time counts: up = online. `error` (reachable but reporting a fault: a terminal that cannot
 * take payments) counts as down. Maintenance is excluded from both sides. Time when Fleetpulse
 * itself was not running is in no state (nobody could observe it) and is excluded too.
 */
export const UP_DEFINITION =
  'uptime = online_s / (online_s + error_s + offline_s); error counts as down; maintenance excluded';

export interface Availability {
  online_s: number;
  error_s: number;
  offline_s: number;
  maintenance_s: number;
  /** null when nothing was observed outside maintenance. */
  uptime_pct: number | null;
}

export interface SiteUptime extends Availability {
  site: string;
  name: string | null;
  devices: number;
}

export interface CustomerUptime extends Availability {
  customer: string;
  company: string | null;
  contract: string | null;
  sla_target_pct: number | null;
  /** null when uptime is unknown or there is no target. */
  sla_met: boolean | null;
  devices: number;
  sites: SiteUptime[];
}

export interface DeviceUptime extends Availability {
  device: string;
  customer: string | null;
  site: string | null;
  down_s: number;
}

export interface UptimeReport {
  month: string;
  timezone: string;
  /** ISO instants: [from, to). */
  from: string;
  to: string;
  definition: string;
  customers: CustomerUptime[];
  worst_devices: DeviceUptime[];
  incidents: IncidentStats[];
}

export interface UptimeReportOptions {
  influx: Pick<InfluxQuery, 'query'>;
  /** The inventory database: customer names and contracts, site names, incidents. */
  db: Database;
  /** `YYYY-MM`. */
  month: string;
  customer?: string;
  site?: string;
  /** Zone the month is cut in. Default UTC (the hourly rollup is stamped on UTC hours). */
  timezone?: string;
  /** How many of the worst devices to list. Default 10. */
  worst?: number;
  slaTargets?: Record<string, number>;
}

/** A report asked for with a bad parameter (`field`: month, timezone). */
export class ReportError extends Refusal {
  override name = 'ReportError';
  declare readonly field: string;

  constructor(message: string, field: string) {
    super('invalid', message, field);
  }
}

/** The month's [from, to) in a zone, epoch ms. Throws `ReportError` for a bad month or zone. */
export function monthRange(month: string, timezone = 'UTC'): { from: number; to: number } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) throw new ReportError(`month must be YYYY-MM, got '${month}'`, 'month');
  if (!isZone(timezone)) throw new ReportError(`'${timezone}' is not an IANA time zone`, 'timezone');
  const year = Number(m[1]);
  const mon = Number(m[2]);
  const next = mon === 12 ? { year: year + 1, month: 1 } : { year, month: mon + 1 };
  return {
    from: localToInstant({ year, month: mon, day: 1, hour: 0, minute: 0 }, timezone),
    to: localToInstant({ ...next, day: 1, hour: 0, minute: 0 }, timezone),
  };
}

/** One customer's site's sums over the month: what the report is assembled from. */
export interface SiteSums {
  /** '' for points without the tag. */
  customer: string;
  site: string;
  devices: number;
  online_s: number;
  error_s: number;
  offline_s: number;
  maintenance_s: number;
}

/** Each device's (per customer and site) sums over [from, to) from `device_availability` (InfluxQL). */
export async function deviceUptime(
  influx: Pick<InfluxQuery, 'query'>,
  range: { from: number; to: number; customer?: string; site?: string },
): Promise<DeviceUptime[]> {
  const where = [`time >= ${range.from}ms`, `time < ${range.to}ms`];
  if (range.customer) where.push(`"customer" = ${quoteString(range.customer)}`);
  if (range.site) where.push(`"site" = ${quoteString(range.site)}`);
  const sums = Object.keys(deviceAvailability.fields)
    .map((k) => `sum("${k}") AS "${k}"`)
    .join(', ');
  const series = await influx.query(
    `SELECT ${sums} FROM "${deviceAvailability.name}" WHERE ${where.join(' AND ')} GROUP BY "customer", "site", "device"`,
  );
  return rows(series).map((r) => {
    const a = availability([r]);
    return {
      device: String(r.device),
      customer: (r.customer as string) || null,
      site: (r.site as string) || null,
      ...a,
      down_s: a.error_s + a.offline_s,
    };
  });
}

/** The devices' sums per customer and site. */
export function siteSums(devices: readonly DeviceUptime[]): SiteSums[] {
  const bySite = new Map<string, SiteSums>();
  for (const d of devices) {
    const key = `${d.customer ?? ''}\u0000${d.site ?? ''}`;
    let s = bySite.get(key);
    if (!s) {
      s = { customer: d.customer ?? '', site: d.site ?? '', devices: 0, ...noTime() };
      bySite.set(key, s);
    }
    s.devices++;
    s.online_s += d.online_s;
    s.error_s += d.error_s;
    s.offline_s += d.offline_s;
    s.maintenance_s += d.maintenance_s;
  }
  return [...bySite.values()];
}

/**
 * The devices that were down, worst first: lowest uptime, then most time down, then by customer,
 * site and device (code-unit order, as SQLite's BINARY), so that the stored report lists ties alike.
 */
export function worstDevices(devices: readonly DeviceUptime[], count: number): DeviceUptime[] {
  const key = (d: DeviceUptime) => [d.customer ?? '', d.site ?? '', d.device];
  const order = (a: DeviceUptime, b: DeviceUptime) => {
    const [ka, kb] = [key(a), key(b)];
    for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
    return 0;
  };
  return devices
    .filter((d) => d.down_s > 0)
    .sort((a, b) => (a.uptime_pct ?? 100) - (b.uptime_pct ?? 100) || b.down_s - a.down_s || order(a, b))
    .slice(0, count);
}

/** Monthly uptime per customer and site from `device_availability` (InfluxQL), worst devices, incidents. */
export async function uptimeReport(o: UptimeReportOptions): Promise<UptimeReport> {
  const range = monthRange(o.month, o.timezone);
  const devices = await deviceUptime(o.influx, { ...range, customer: o.customer, site: o.site });
  return assembleReport(o, siteSums(devices), worstDevices(devices, o.worst ?? 10));
}

/**
 * The report from the month's sums per site and its worst devices (computed now or stored):
 * names, contracts and SLA targets are read now, as are the incidents.
 */
export function assembleReport(
  o: Omit<UptimeReportOptions, 'influx'>,
  sites: readonly SiteSums[],
  worst: DeviceUptime[],
): UptimeReport {
  const timezone = o.timezone ?? 'UTC';
  const { from, to } = monthRange(o.month, timezone);
  const targets = { ...DEFAULT_SLA_TARGETS, ...o.slaTargets };
  const customerOf = o.db.prepare('SELECT company, contract FROM customers WHERE id = ?');
  const siteName = o.db.prepare('SELECT name FROM sites WHERE id = ?').pluck();
  const byCustomer = new Map<string, SiteSums[]>();
  for (const s of sites) {
    const list = byCustomer.get(s.customer);
    if (list) list.push(s);
    else byCustomer.set(s.customer, [s]);
  }
  const customers: CustomerUptime[] = [...byCustomer.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([customer, list]) => {
      const info = customer
        ? (customerOf.get(customer) as { company: string; contract: string } | undefined)
        : undefined;
      const total = availability(list);
      const target = info ? (targets[info.contract] ?? null) : null;
      return {
        customer: customer || '(none)',
        company: info?.company ?? null,
        contract: info?.contract ?? null,
        sla_target_pct: target,
        sla_met: target === null || total.uptime_pct === null ? null : total.uptime_pct >= target,
        devices: list.reduce((n, s) => n + s.devices, 0),
        ...total,
        sites: [...list]
          .sort((a, b) => a.site.localeCompare(b.site))
          .map((s) => ({
            site: s.site || '(none)',
            name: s.site ? ((siteName.get(s.site) as string | undefined) ?? null) : null,
            devices: s.devices,
            ...availability([s]),
          })),
      };
    });
  return {
    month: o.month,
    timezone,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    definition: UP_DEFINITION,
    customers,
    worst_devices: worst,
    incidents: incidentStats(o.db, { from, to, ...(o.customer ? { customer: o.customer } : {}) }),
  };
}

function noTime(): Pick<SiteSums, 'online_s' | 'error_s' | 'offline_s' | 'maintenance_s'> {
  return { online_s: 0, error_s: 0, offline_s: 0, maintenance_s: 0 };
}

function isZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function availability(list: ReadonlyArray<Partial<Record<keyof Availability, unknown>>>): Availability {
  let online = 0;
  let error = 0;
  let offline = 0;
  let maintenance = 0;
  for (const r of list) {
    online += Number(r.online_s ?? 0);
    error += Number(r.error_s ?? 0);
    offline += Number(r.offline_s ?? 0);
    maintenance += Number(r.maintenance_s ?? 0);
  }
  const observed = online + error + offline;
  return {
    online_s: online,
    error_s: error,
    offline_s: offline,
    maintenance_s: maintenance,
    // Four decimals: SLAs are read to 0.01 %, and 99.995 must not print as 100.
    uptime_pct: observed === 0 ? null : Math.round((online / observed) * 100 * 10_000) / 10_000,
  };
}
