import type { Database, Statement } from 'better-sqlite3';
import type { MaintenanceCalendar } from '../runtime/liveness.ts';
import type { DeviceRecord } from '../sdk/index.ts';
import type { MaintenanceWindow, MaintenanceWindows } from './maintenance-windows.ts';
import { addDays, daysInMonth, localParts, localToInstant, weekdayOf, type LocalDate } from '../sdk/zoned-time.ts';

/** The answer for a device is recomputed at least this often, ms (a site's zone may change). */
const MAX_CACHE_MS = 15 * 60_000;

interface Cached {
  inside: boolean;
  /** The answer holds until this instant (the next window start or end). */
  until: number;
}

/**
 * The liveness tracker's `MaintenanceCalendar` from maintenance windows. Asked for every device
 * on every tick, so answers are cached until the next instant they can change (the next start or
 * end of a window that applies), or until a window is created or deleted. Devices without windows
 * of their own share one answer per (site, customer): 20,000 terminals at 500 sites cost 500
 * evaluations, not 20,000 (each takes tens of Intl calls).
 */
export class WindowCalendar implements MaintenanceCalendar {
  private readonly cache = new Map<string, Cached>();
  /** Each device's cache key, kept while its site and customer stay the same. */
  private readonly keys = new Map<string, { site?: string; customer?: string; key: string }>();
  private byTarget = new Map<string, MaintenanceWindow[]>();
  private loaded = -1;
  private readonly siteZone: Statement<[string], { timezone: string }>;

  constructor(
    db: Database,
    private readonly windows: MaintenanceWindows,
  ) {
    this.siteZone = db.prepare('SELECT timezone FROM sites WHERE id = ?');
  }

  inMaintenance(device: DeviceRecord, now: number): boolean {
    this.reload();
    let d = this.keys.get(device.id);
    if (!d || d.site !== device.site || d.customer !== device.customer) {
      const place = `${device.site ?? ''}|${device.customer ?? ''}`;
      const key = this.byTarget.has(`device:${device.id}`) ? `device:${device.id}|${place}` : `place:${place}`;
      this.keys.set(device.id, (d = { site: device.site, customer: device.customer, key }));
    }
    const key = d.key;
    const hit = this.cache.get(key);
    if (hit && now < hit.until) return hit.inside;
    const { inside, until } = this.evaluate(device, now);
    if (this.cache.size >= 100_000) this.cache.clear();
    this.cache.set(key, { inside, until: Math.min(until, now + MAX_CACHE_MS) });
    return inside;
  }

  /** The windows that apply to a device, each with the interval that covers `now` or comes next. */
  evaluate(
    device: Pick<DeviceRecord, 'id' | 'site' | 'customer'>,
    now: number,
  ): { inside: boolean; until: number; windows: string[] } {
    this.reload();
    const applicable = [
      ...(this.byTarget.get(`device:${device.id}`) ?? []),
      ...(device.site ? (this.byTarget.get(`site:${device.site}`) ?? []) : []),
      ...(device.customer ? (this.byTarget.get(`customer:${device.customer}`) ?? []) : []),
    ];
    let inside = false;
    let until = Infinity;
    const active: string[] = [];
    const zone = device.site ? this.siteZone.get(device.site)?.timezone : undefined;
    for (const w of applicable) {
      for (const [start, end] of occurrencesAround(w, now, w.timezone ?? zone ?? 'UTC')) {
        if (start <= now && now < end) {
          inside = true;
          active.push(w.id);
          until = Math.min(until, end);
        } else if (start > now) {
          until = Math.min(until, start);
        }
      }
    }
    return { inside, until, windows: active };
  }

  private reload(): void {
    if (this.loaded === this.windows.version) return;
    const map = new Map<string, MaintenanceWindow[]>();
    for (const w of this.windows.all()) {
      const k = `${w.scope}:${w.target}`;
      map.set(k, [...(map.get(k) ?? []), w]);
    }
    this.byTarget = map;
    this.loaded = this.windows.version;
    this.cache.clear();
    this.keys.clear();
  }
}

/**
 * The window's intervals [start, end) that could cover `now` or start within the next day: for
 * recurring windows, occurrences starting on the local day before, of, and after `now`.
 */
export function occurrencesAround(w: MaintenanceWindow, now: number, tz: string): Array<[number, number]> {
  if (w.recurrence === 'once') return [[w.starts_at!, w.ends_at!]];
  const p = localParts(now, tz);
  const today: LocalDate = { year: p.year, month: p.month, day: p.day };
  const out: Array<[number, number]> = [];
  const [hh, mm] = w.start_time!.split(':').map(Number) as [number, number];
  for (const offset of [-1, 0, 1]) {
    const day = addDays(today, offset);
    if (!occursOn(w, day)) continue;
    const start = localToInstant({ ...day, hour: hh, minute: mm }, tz);
    // The end is wall-clock too: start time plus the minutes, on the clock of the day it falls on.
    const endMinutes = hh * 60 + mm + w.duration_min!;
    const endDay = addDays(day, Math.floor(endMinutes / 1440));
    const end = localToInstant({ ...endDay, hour: Math.floor((endMinutes % 1440) / 60), minute: endMinutes % 60 }, tz);
    if (w.valid_from !== null && start < w.valid_from) continue;
    if (w.valid_until !== null && start >= w.valid_until) continue;
    if (end > start) out.push([start, end]);
  }
  return out;
}

function occursOn(w: MaintenanceWindow, day: LocalDate): boolean {
  if (w.recurrence === 'daily') return true;
  const weekday = weekdayOf(day);
  if (!w.weekdays!.includes(weekday)) return false;
  if (w.recurrence === 'weekly') return true;
  // monthly: the nth such weekday of the month (1 = days 1-7, …), or the last one.
  if (w.week_of_month === -1) return day.day + 7 > daysInMonth(day.year, day.month);
  return Math.ceil(day.day / 7) === w.week_of_month;
}
