import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { conformFields, type DeviceRecord, type Fields, type Tags } from '../sdk/index.ts';
import type { CommandOutcome, CommandRequest } from './command-bus.ts';
import { sessionEnforcementFailure, stationSession, stationSessionsActive } from './session-measurements.ts';

export type ExpiryAction = 'lock' | 'log_off' | 'power_off';
export type SessionState = 'active' | 'ended' | 'stopped';

export interface StationSession {
  id: string;
  station: string;
  site: string | null;
  action: ExpiryAction;
  /** The plug that powers the station, for `power_off`. */
  plug: string | null;
  started_at: number;
  ends_at: number;
  minutes_sold: number;
  state: SessionState;
  ended_at: number | null;
  /** `ok` or `failed` once the end was (not) enforced; null while active or when stopped. */
  enforcement: 'ok' | 'failed' | null;
  error: string | null;
}

export interface SessionSchedulerOptions {
  /** Durable home of the sessions (the inventory file): end times survive restarts. */
  db: Database.Database;
  /** The command bus (`collector.bus.dispatch`). */
  dispatch: (deviceId: string, request: CommandRequest) => Promise<CommandOutcome>;
  /** Writes a point (the runtime adds inventory tags for `tags.device`). */
  emit: (measurement: string, fields: Fields, tags?: Tags, time?: number) => void;
  /** Inventory lookup: a station's site, and its plug (label `plug`) for power_off. */
  lookup: (deviceId: string) => DeviceRecord | undefined;
  log: Logger;
  clock?: { now(): number };
  /** Warnings are sent this many minutes before the end. Default [5, 1]. */
  warningMinutes?: number[];
  /** How the plug is told to cut power. Default `{ name: 'power_off', params: {} }`. */
  powerOffCommand?: { name: string; params?: unknown };
  /** Check interval, ms. Default 1,000. */
  tickMs?: number;
}

/** The request cannot be done as asked (unknown session, one already running, ...). */
export class SessionError extends Error {
  override name = 'SessionError';
  constructor(
    readonly code: 'not_found' | 'conflict' | 'not_active' | 'no_plug',
    message: string,
  ) {
    super(message);
  }
}

const MINUTE = 60_000;

/**
 * Timed sessions on stations. The end time kept here is the authoritative one (SQLite, so a
 * restart loses none, and an end that passed while the server was down is enforced at start).
 * Warnings and the end action go through the command bus; the station's agent also gets the end
 * time (`session_set`) so that it ends the session itself when its uplink is cut. An end that
 * could not be enforced is recorded and written as `session_enforcement_failure`.
 */
export class SessionScheduler {
  private readonly o: SessionSchedulerOptions;
  private readonly clock: { now(): number };
  private readonly warnings: number[];
  private timer: NodeJS.Timeout | undefined;
  private readonly busy = new Set<string>();
  private lastActiveWrite = 0;

  constructor(options: SessionSchedulerOptions) {
    this.o = options;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.warnings = [...(options.warningMinutes ?? [5, 1])].sort((a, b) => b - a);
    options.db.exec(`
      CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY, station TEXT NOT NULL, site TEXT, action TEXT NOT NULL, plug TEXT,
        started_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, minutes_sold REAL NOT NULL,
        state TEXT NOT NULL, ended_at INTEGER, enforcement TEXT, error TEXT,
        warned TEXT NOT NULL DEFAULT '[]');
      CREATE UNIQUE INDEX IF NOT EXISTS sessions_one_active ON sessions (station) WHERE state = 'active';
    `);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.tickMs ?? 1000);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Starts a session of `minutes` on `station`. */
  async begin(station: string, minutes: number, options: { action?: ExpiryAction; plug?: string } = {}): Promise<StationSession> {
    const action = options.action ?? 'lock';
    const device = this.o.lookup(station);
    if (!device) throw new SessionError('not_found', `no device ${station} in the inventory`);
    const plug = options.plug ?? device?.labels?.plug ?? null;
    if (action === 'power_off' && !plug) throw new SessionError('no_plug', `station ${station} has no plug: give one, or label the station plug=<device id>`);
    const now = this.clock.now();
    const s: StationSession = {
      id: randomUUID(), station, site: device?.site ?? null, action, plug, started_at: now, ends_at: now + minutes * MINUTE,
      minutes_sold: minutes, state: 'active', ended_at: null, enforcement: null, error: null,
    };
    try {
      this.o.db
        .prepare(`INSERT INTO sessions (id, station, site, action, plug, started_at, ends_at, minutes_sold, state)
          VALUES (@id, @station, @site, @action, @plug, @started_at, @ends_at, @minutes_sold, @state)`)
        .run(s);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new SessionError('conflict', `station ${station} already has an active session`);
      throw err;
    }
    this.record(s, 'started', { minutes_sold: minutes }, now);
    this.writeActive(now);
    await this.tellStation(s);
    return s;
  }

  async extend(id: string, minutes: number): Promise<StationSession> {
    const s = this.active(id);
    const now = this.clock.now();
    // Extending an overrun session counts from now: the customer buys time from here.
    const endsAt = Math.max(s.ends_at, now) + minutes * MINUTE;
    this.o.db.prepare(`UPDATE sessions SET ends_at = ?, minutes_sold = minutes_sold + ?, warned = '[]' WHERE id = ?`).run(endsAt, minutes, id);
    const updated = this.get(id)!;
    this.record(updated, 'extended', { minutes_sold: minutes }, now);
    await this.tellStation(updated);
    return updated;
  }

  /** Ends a session early (the customer leaves); nothing is enforced. */
  async end(id: string): Promise<StationSession> {
    const s = this.active(id);
    const now = this.clock.now();
    this.o.db.prepare(`UPDATE sessions SET state = 'stopped', ended_at = ? WHERE id = ?`).run(now, id);
    this.record(s, 'stopped', { duration_min: (now - s.started_at) / MINUTE }, now);
    this.writeActive(now);
    if (s.action !== 'power_off') await this.send(s.station, { name: 'session_clear' }).catch(() => undefined);
    return this.get(id)!;
  }

  get(id: string): StationSession | undefined {
    return this.o.db.prepare(`SELECT id, station, site, action, plug, started_at, ends_at, minutes_sold, state, ended_at, enforcement, error FROM sessions WHERE id = ?`).get(id) as StationSession | undefined;
  }

  list(filter: { state?: SessionState; station?: string; limit?: number } = {}): StationSession[] {
    return this.o.db
      .prepare(`SELECT id, station, site, action, plug, started_at, ends_at, minutes_sold, state, ended_at, enforcement, error FROM sessions
        WHERE (@state IS NULL OR state = @state) AND (@station IS NULL OR station = @station) ORDER BY started_at DESC LIMIT @limit`)
      .all({ state: filter.state ?? null, station: filter.station ?? null, limit: filter.limit ?? 100 }) as StationSession[];
  }

  /** Sends due warnings and enforces due ends. Public so tests can drive a moved clock. */
  async tick(): Promise<void> {
    const now = this.clock.now();
    const rows = this.o.db.prepare(`SELECT id, ends_at, warned FROM sessions WHERE state = 'active'`).all() as Array<{ id: string; ends_at: number; warned: string }>;
    const work: Promise<void>[] = [];
    for (const r of rows) {
      if (this.busy.has(r.id)) continue;
      if (now >= r.ends_at) {
        work.push(this.guarded(r.id, () => this.expire(r.id, now)));
        continue;
      }
      const warned = JSON.parse(r.warned) as number[];
      const due = this.warnings.find((m) => now >= r.ends_at - m * MINUTE && !warned.includes(m));
      if (due !== undefined) work.push(this.guarded(r.id, () => this.warn(r.id, due, warned, now)));
    }
    if (now - this.lastActiveWrite >= MINUTE) this.writeActive(now);
    await Promise.all(work);
  }

  private async guarded(id: string, fn: () => Promise<void>): Promise<void> {
    this.busy.add(id);
    try {
      await fn();
    } catch (err) {
      this.o.log.error({ session: id, err }, 'session step failed');
    } finally {
      this.busy.delete(id);
    }
  }

  private async warn(id: string, minutes: number, warned: number[], now: number): Promise<void> {
    // Every warning at or above this one counts as sent: a late start must not send a stale "5 minutes".
    const sent = [...new Set([...warned, ...this.warnings.filter((m) => m >= minutes)])];
    this.o.db.prepare(`UPDATE sessions SET warned = ? WHERE id = ?`).run(JSON.stringify(sent), id);
    const s = this.get(id)!;
    const message = `Your session ends in ${minutes} minute${minutes === 1 ? '' : 's'}`;
    const outcome = await this.send(s.station, { name: 'warn', params: { message } }).catch((err: Error) => ({ status: 'failed', error: err.message }));
    if (outcome.status !== 'succeeded') this.o.log.warn({ session: id, station: s.station, error: outcome.error }, 'warning not delivered');
    this.record(s, 'warned', {}, now);
  }

  private async expire(id: string, now: number): Promise<void> {
    const s = this.get(id)!;
    const target = s.action === 'power_off' ? s.plug! : s.station;
    const request = s.action === 'power_off' ? { name: this.o.powerOffCommand?.name ?? 'power_off', params: this.o.powerOffCommand?.params ?? {} } : { name: s.action };
    const outcome = await this.send(target, request).catch((err: Error) => ({ status: 'failed' as const, error: err.message }));
    const ok = outcome.status === 'succeeded';
    const error = ok ? null : `${outcome.status}: ${outcome.error ?? 'no detail'}`;
    this.o.db.prepare(`UPDATE sessions SET state = 'ended', ended_at = ?, enforcement = ?, error = ? WHERE id = ?`).run(now, ok ? 'ok' : 'failed', error, id);
    this.record(s, 'ended', { duration_min: (s.ends_at - s.started_at) / MINUTE }, now);
    if (!ok) {
      this.o.log.error({ session: id, station: s.station, target, error }, 'session end could not be enforced');
      this.o.emit(sessionEnforcementFailure.name, conformFields(sessionEnforcementFailure, { session_id: id, target, error }), { device: s.station, action: s.action }, now);
    }
    this.writeActive(now);
  }

  /** Gives the station its end time so its agent can end the session without the server. */
  private async tellStation(s: StationSession): Promise<void> {
    if (s.action === 'power_off') return; // a console has no agent: the plug is the enforcement
    const outcome = await this.send(s.station, { name: 'session_set', params: { ends_at_ms: s.ends_at, action: s.action } }).catch((err: Error) => ({ status: 'failed', error: err.message }));
    if (outcome.status !== 'succeeded') {
      this.o.log.warn({ session: s.id, station: s.station, error: outcome.error }, 'the station did not get its end time; only the server will enforce it');
    }
  }

  private send(device: string, request: CommandRequest): Promise<CommandOutcome> {
    return this.o.dispatch(device, request);
  }

  private active(id: string): StationSession {
    const s = this.get(id);
    if (!s) throw new SessionError('not_found', `no session ${id}`);
    if (s.state !== 'active') throw new SessionError('not_active', `session ${id} is ${s.state}`);
    return s;
  }

  private record(s: StationSession, event: string, extra: Fields, time: number): void {
    const ends = this.get(s.id)?.ends_at ?? s.ends_at;
    this.o.emit(stationSession.name, conformFields(stationSession, { event, session_id: s.id, ends_at_ms: ends, ...extra }), { device: s.station, action: s.action }, time);
  }

  private writeActive(now: number): void {
    this.lastActiveWrite = now;
    const rows = this.o.db.prepare(`SELECT COALESCE(site, '') AS site, COUNT(*) AS n FROM sessions WHERE state = 'active' GROUP BY site`).all() as Array<{ site: string; n: number }>;
    const sites = new Set(rows.map((r) => r.site));
    // Sites that just went to zero must be written as zero, not left at their last count.
    for (const r of this.o.db.prepare(`SELECT DISTINCT COALESCE(site, '') AS site FROM sessions`).all() as Array<{ site: string }>) {
      if (!sites.has(r.site)) rows.push({ site: r.site, n: 0 });
    }
    for (const r of rows) this.o.emit(stationSessionsActive.name, conformFields(stationSessionsActive, { active: r.n }), { site: r.site || undefined }, now);
  }
}
