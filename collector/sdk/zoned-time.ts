/**
 * Wall-clock time in an IANA time zone with `Intl.DateTimeFormat` only (no tz database of our
 * own): the local fields of an instant, and the instant of local fields. Formatters are cached
 * per zone (building one costs ~50 µs; the maintenance calendar asks often).
 */
const formats = new Map<string, Intl.DateTimeFormat>();

export interface LocalDate {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
}

export interface LocalDateTime extends LocalDate {
  hour: number;
  minute: number;
  second: number;
}

function format(tz: string): Intl.DateTimeFormat {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(tz, f);
  }
  return f;
}

/** The wall-clock fields of an instant (epoch ms) in a zone. */
export function localParts(ms: number, tz: string): LocalDateTime {
  const out: Record<string, number> = {};
  for (const part of format(tz).formatToParts(ms)) if (part.type !== 'literal') out[part.type] = Number(part.value);
  return {
    year: out.year,
    month: out.month,
    day: out.day,
    hour: out.hour % 24,
    minute: out.minute,
    second: out.second,
  };
}

/** Local time minus UTC at an instant, ms (Berlin in summer: +7,200,000). */
export function offsetAt(ms: number, tz: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  const p = localParts(whole, tz);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - whole;
}

/**
 * The instant at which a zone's clocks show the given local time. A time skipped by a DST change
 * (02:30 on the last Sunday of March in Berlin) is moved forward by the gap (03:30); a time that
 * occurs twice (02:30 on the last Sunday of October) is its first occurrence. The same rules as
 * Temporal's `disambiguation: 'compatible'`.
 */
export function localToInstant(t: LocalDate & { hour: number; minute: number }, tz: string): number {
  const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute);
  const before = offsetAt(wall - 86_400_000, tz);
  const after = offsetAt(wall + 86_400_000, tz);
  const candidates = [...new Set([wall - before, wall - after])].filter((c) => wall - offsetAt(c, tz) === c);
  if (candidates.length > 0) return Math.min(...candidates);
  return Math.max(wall - before, wall - after); // in the gap
}

/** The local date `days` after (or before) a date. */
export function addDays(d: LocalDate, days: number): LocalDate {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + days));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(d: LocalDate): number {
  return new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay();
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
