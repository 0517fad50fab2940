import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { isTimezone } from '../inventory/sites.ts';
import { Refusal } from '../errors.ts';

export const SCOPES = ['device', 'site', 'customer'] as const;
export const RECURRENCES = ['once', 'daily', 'weekly', 'monthly'] as const;
export type WindowScope = (typeof SCOPES)[number];
export type Recurrence = (typeof RECURRENCES)[number];

/**
 * A maintenance window for a device, a site or a customer. `once`: from `starts_at` to `ends_at`
 * (instants). Recurring: from `start_time` local wall-clock time for `duration_min` wall-clock
 * minutes (so "23:00–03:00" crosses midnight and "02:00–04:00" stays 02:00–04:00 on the clock
 * across DST changes), in `timezone` or else the device's site's zone (UTC without a site).
 */
export interface MaintenanceWindow {
  id: string;
  scope: WindowScope;
  target: string;
  recurrence: Recurrence;
  /** once: epoch ms. */
  starts_at: number | null;
  ends_at: number | null;
  /** Recurring: `HH:MM`, 24-hour local time. */
  start_time: string | null;
  /** Recurring: 1 to 1,440 minutes of wall-clock time. */
  duration_min: number | null;
  /** weekly, monthly: days of the week, 0 = Sunday … 6 = Saturday. */
  weekdays: number[] | null;
  /** monthly: which occurrence of the weekday in the month, 1-5, or -1 for the last. */
  week_of_month: number | null;
  /** Overrides the site's zone (IANA). */
  timezone: string | null;
  /** Recurring: occurrences starting before / from these instants do not count. */
  valid_from: number | null;
  valid_until: number | null;
  reason: string | null;
  created_by: string | null;
  created_at: number;
}

export type WindowInput = Omit<
  MaintenanceWindow,
  | 'id'
  | 'created_at'
  | 'created_by'
  | 'starts_at'
  | 'ends_at'
  | 'start_time'
  | 'duration_min'
  | 'weekdays'
  | 'week_of_month'
  | 'timezone'
  | 'valid_from'
  | 'valid_until'
  | 'reason'
> &
  Partial<
    Pick<
      MaintenanceWindow,
      | 'starts_at'
      | 'ends_at'
      | 'start_time'
      | 'duration_min'
      | 'weekdays'
      | 'week_of_month'
      | 'timezone'
      | 'valid_from'
      | 'valid_until'
      | 'reason'
      | 'created_by'
    >
  >;

export class WindowError extends Refusal {
  override name = 'WindowError';
}

type Row = Omit<MaintenanceWindow, 'weekdays'> & { weekdays: string | null };

/** The `maintenance_windows` table; every change bumps `version` so calendars drop their cache. */
export class MaintenanceWindows {
  private changes = 0;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  get version(): number {
    return this.changes;
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  all(): MaintenanceWindow[] {
    return (this.db.prepare('SELECT * FROM maintenance_windows ORDER BY created_at, id').all() as Row[]).map(toWindow);
  }

  list(filter: { scope?: WindowScope; target?: string } = {}): MaintenanceWindow[] {
    return this.all().filter(
      (w) =>
        (filter.scope === undefined || w.scope === filter.scope) &&
        (filter.target === undefined || w.target === filter.target),
    );
  }

  get(id: string): MaintenanceWindow | undefined {
    const row = this.db.prepare('SELECT * FROM maintenance_windows WHERE id = ?').get(id) as Row | undefined;
    return row && toWindow(row);
  }

  create(input: WindowInput): MaintenanceWindow {
    const w: MaintenanceWindow = {
      id: randomUUID(),
      starts_at: null,
      ends_at: null,
      start_time: null,
      duration_min: null,
      weekdays: null,
      week_of_month: null,
      timezone: null,
      valid_from: null,
      valid_until: null,
      reason: null,
      created_by: null,
      ...input,
      created_at: this.now(),
    };
    check(w);
    this.db
      .prepare(
        `INSERT INTO maintenance_windows (id, scope, target, recurrence, starts_at, ends_at, start_time, duration_min, weekdays,
           week_of_month, timezone, valid_from, valid_until, reason, created_by, created_at)
         VALUES (@id, @scope, @target, @recurrence, @starts_at, @ends_at, @start_time, @duration_min, @weekdays,
           @week_of_month, @timezone, @valid_from, @valid_until, @reason, @created_by, @created_at)`,
      )
      .run({ ...w, weekdays: w.weekdays ? JSON.stringify(w.weekdays) : null });
    this.changed();
    return w;
  }

  delete(id: string): void {
    if (this.db.prepare('DELETE FROM maintenance_windows WHERE id = ?').run(id).changes === 0) {
      throw new WindowError('not_found', `no maintenance window ${id}`);
    }
    this.changed();
  }

  private changed(): void {
    this.changes++;
    for (const l of this.listeners) l();
  }
}

function check(w: MaintenanceWindow): void {
  const bad = (field: string, message: string) => new WindowError('invalid', message, field);
  if (w.timezone !== null && !isTimezone(w.timezone))
    throw bad('timezone', `'${w.timezone}' is not an IANA time zone (e.g. Europe/Berlin)`);
  if (w.recurrence === 'once') {
    if (w.starts_at === null || w.ends_at === null)
      throw bad('starts_at', 'a one-off window needs starts_at and ends_at');
    if (w.ends_at <= w.starts_at) throw bad('ends_at', 'ends_at must be after starts_at');
    return;
  }
  if (w.start_time === null || !/^([01]\d|2[0-3]):[0-5]\d$/.test(w.start_time))
    throw bad('start_time', 'start_time must be HH:MM (00:00-23:59)');
  if (w.duration_min === null || !Number.isInteger(w.duration_min) || w.duration_min < 1 || w.duration_min > 1440) {
    throw bad('duration_min', 'a recurring window lasts 1 to 1,440 minutes');
  }
  if (w.recurrence !== 'daily') {
    if (!w.weekdays?.length || w.weekdays.some((d) => !Number.isInteger(d) || d < 0 || d > 6)) {
      throw bad('weekdays', 'weekly and monthly windows need weekdays (0 = Sunday … 6 = Saturday)');
    }
  }
  if (w.recurrence === 'monthly') {
    if (w.week_of_month === null || ![1, 2, 3, 4, 5, -1].includes(w.week_of_month))
      throw bad('week_of_month', 'week_of_month is 1-5, or -1 for the last');
  }
  if (w.valid_from !== null && w.valid_until !== null && w.valid_until <= w.valid_from)
    throw bad('valid_until', 'valid_until must be after valid_from');
}

function toWindow(row: Row): MaintenanceWindow {
  return { ...row, weekdays: row.weekdays === null ? null : (JSON.parse(row.weekdays) as number[]) };
}
