import type { Logger } from 'pino';
import { addDays, localParts, localToInstant } from '../sdk/zoned-time.ts';

export interface BackupScheduleOptions {
  /** Local wall-clock time of the daily run, `HH:MM`. */
  at: string;
  /** IANA zone `at` is read in. */
  timezone: string;
  run: () => Promise<unknown>;
  log: Logger;
  clock?: { now(): number };
}

/** The first instant after `now` at which `timezone`'s clocks show `at` (`HH:MM`). */
export function nextDailyRun(now: number, at: string, timezone: string): number {
  const [hour, minute] = at.split(':').map(Number) as [number, number];
  const today = localParts(now, timezone);
  for (let days = 0; ; days++) {
    const t = localToInstant({ ...addDays(today, days), hour, minute }, timezone);
    if (t > now) return t;
  }
}

/** Runs the backup once a day at a local time; a failed run is logged and the next day comes. */
export class BackupSchedule {
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: { now(): number };
  /** Epoch ms of the next run, while started. */
  next: number | undefined;

  constructor(private readonly o: BackupScheduleOptions) {
    this.clock = o.clock ?? { now: () => Date.now() };
  }

  start(): void {
    const now = this.clock.now();
    const next = nextDailyRun(now, this.o.at, this.o.timezone);
    this.next = next;
    this.timer = setTimeout(() => {
      // The outcome is logged and counted by the backup itself.
      this.o
        .run()
        .catch(() => {})
        .finally(() => this.timer && this.start());
    }, next - now);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.next = undefined;
  }
}
