import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { conformFields, type DeviceRecord, type Fields, type Tags } from '../../sdk/index.ts';
import type { CommandOutcome, CommandRequest } from '../../commands/command-bus.ts';
import { SessionEnforcer } from './session-enforcement.ts';
import { stationSession, stationSessionsActive } from './session-measurements.ts';
import { StationCopies, type Sent } from './session-stations.ts';
import { SessionError, type ExpiryAction, type SessionState, type StationSession } from './session.ts';

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
  /**
   * Subscribes to devices being attached (`collector.bus.onAttach`): a station that is back gets
   * what it missed at once. Without it, it gets it on the next tick.
   */
  onAttach?: (listener: (deviceId: string) => void) => () => void;
  /**
   * A station unreachable at its end that holds the end time ends the session itself; its report
   * is awaited this long after the end before the end counts as failed, ms. Default 900,000 (15 min).
   */
  enforcementGraceMs?: number;
  /** The maintenance calendar: failures of stations in a window are marked (no alert). */
  maintenance?: { inMaintenance(device: DeviceRecord, now: number): boolean };
}

const MINUTE = 60_000;
const COLUMNS = `s.id, s.station, s.site, s.action, s.plug, s.started_at, s.ends_at, s.minutes_sold, s.state, s.ended_at, s.enforcement, s.enforced_by, s.error,
  CASE WHEN s.action = 'power_off' OR s.state = 'ended' THEN NULL
       WHEN s.state = 'active' THEN (c.held_ends_at IS s.ends_at AND c.held_action IS s.action)
       ELSE (c.held_ends_at IS NULL) END AS station_synced`;
const FROM = `sessions s LEFT JOIN session_stations c ON c.station = s.station`;
type Row = Omit<StationSession, 'station_synced'> & { station_synced: number | null };
const fromRow = (r: Row): StationSession => ({
  ...r,
  station_synced: r.station_synced === null ? null : r.station_synced === 1,
});

/**
 * Timed sessions on stations. The end time kept here is the authoritative one (SQLite, so a
 * restart loses none, and an end that passed while the server was down is enforced at start).
 * Warnings and the end action go through the command bus; the station's agent also holds the end
 * time (`session_set`, see StationCopies) so that it ends the session itself when its uplink is
 * cut, and is brought up to date when it is back. Every end to enforce is written as
 * `session_enforcement` (enforced, pending, failed): an unreachable station that holds the end
 * is `pending` until it reports that it ended the session itself (`session_status`), or until
 * `enforcementGraceMs` has passed.
 */
export class SessionScheduler {
  private readonly o: SessionSchedulerOptions;
  private readonly clock: { now(): number };
  private readonly warnings: number[];
  private readonly copies: StationCopies;
  private readonly enforcer: SessionEnforcer;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
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
    // Added after the first release.
    const columns = new Set(
      (options.db.prepare('PRAGMA table_info(sessions)').all() as Array<{ name: string }>).map((c) => c.name),
    );
    if (!columns.has('enforced_by')) options.db.exec('ALTER TABLE sessions ADD COLUMN enforced_by TEXT');
    options.db.exec(`CREATE INDEX IF NOT EXISTS sessions_pending ON sessions (station) WHERE enforcement = 'pending'`);
    this.copies = new StationCopies(options.db, (station, request) => this.send(station, request));
    this.enforcer = new SessionEnforcer({
      ...options,
      copies: this.copies,
      graceMs: options.enforcementGraceMs ?? 15 * MINUTE,
      send: (device, request) => this.send(device, request),
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.tickMs ?? 1000);
    this.timer.unref();
    this.unsubscribe = this.o.onAttach?.((device) => this.attached(device));
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  /** Starts a session of `minutes` on `station`. */
  async begin(
    station: string,
    minutes: number,
    options: { action?: ExpiryAction; plug?: string } = {},
  ): Promise<StationSession> {
    const action = options.action ?? 'lock';
    const device = this.o.lookup(station);
    if (!device) throw new SessionError('not_found', `no device ${station} in the inventory`);
    const plug = options.plug ?? device?.labels?.plug ?? null;
    if (action === 'power_off' && !plug)
      throw new SessionError(
        'no_plug',
        `station ${station} has no plug: give one, or label the station plug=<device id>`,
      );
    const now = this.clock.now();
    const s = {
      id: randomUUID(),
      station,
      site: device?.site ?? null,
      action,
      plug,
      started_at: now,
      ends_at: now + minutes * MINUTE,
      minutes_sold: minutes,
      state: 'active' as const,
    };
    try {
      this.o.db
        .prepare(
          `INSERT INTO sessions (id, station, site, action, plug, started_at, ends_at, minutes_sold, state)
          VALUES (@id, @station, @site, @action, @plug, @started_at, @ends_at, @minutes_sold, @state)`,
        )
        .run(s);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new SessionError('conflict', `station ${station} already has an active session`);
      throw err;
    }
    const created = this.get(s.id)!;
    this.record(created, 'started', { minutes_sold: minutes }, now);
    this.writeActive(now);
    await this.tellStation(created, created.ends_at);
    return this.get(s.id)!;
  }

  async extend(id: string, minutes: number): Promise<StationSession> {
    const s = this.active(id);
    const now = this.clock.now();
    // Extending an overrun session counts from now: the customer buys time from here.
    const endsAt = Math.max(s.ends_at, now) + minutes * MINUTE;
    this.o.db
      .prepare(`UPDATE sessions SET ends_at = ?, minutes_sold = minutes_sold + ?, warned = '[]' WHERE id = ?`)
      .run(endsAt, minutes, id);
    const updated = this.get(id)!;
    this.record(updated, 'extended', { minutes_sold: minutes }, now);
    await this.tellStation(updated, endsAt);
    return this.get(id)!;
  }

  /** Ends a session early (the customer leaves); nothing is enforced, and the station forgets it. */
  async end(id: string): Promise<StationSession> {
    const s = this.active(id);
    const now = this.clock.now();
    this.o.db.prepare(`UPDATE sessions SET state = 'stopped', ended_at = ? WHERE id = ?`).run(now, id);
    this.record(s, 'stopped', { duration_min: (now - s.started_at) / MINUTE }, now);
    this.writeActive(now);
    await this.tellStation(s, null);
    return this.get(id)!;
  }

  get(id: string): StationSession | undefined {
    const row = this.o.db.prepare(`SELECT ${COLUMNS} FROM ${FROM} WHERE s.id = ?`).get(id) as Row | undefined;
    return row && fromRow(row);
  }

  list(filter: { state?: SessionState; station?: string; limit?: number } = {}): StationSession[] {
    return (
      this.o.db
        .prepare(
          `SELECT ${COLUMNS} FROM ${FROM} WHERE (@state IS NULL OR s.state = @state) AND (@station IS NULL OR s.station = @station) ORDER BY s.started_at DESC LIMIT @limit`,
        )
        .all({ state: filter.state ?? null, station: filter.station ?? null, limit: filter.limit ?? 100 }) as Row[]
    ).map(fromRow);
  }

  /**
   * Sends due warnings, enforces due ends, brings stations that are back up to date and settles
   * pending enforcements. Public so tests can drive a moved clock.
   */
  async tick(): Promise<void> {
    const now = this.clock.now();
    const rows = this.o.db.prepare(`SELECT id, ends_at, warned FROM sessions WHERE state = 'active'`).all() as Array<{
      id: string;
      ends_at: number;
      warned: string;
    }>;
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
    const stations = new Set([...this.copies.dirty(), ...this.pendingStations()]);
    for (const station of stations) work.push(this.converge(station));
    if (now - this.lastActiveWrite >= MINUTE) this.writeActive(now);
    await Promise.all(work);
  }

  /** A device was attached: if it is a station that missed something, catch it up now. */
  private attached(device: string): void {
    if (this.copies.inSync(device) && this.pendingIds(device).length === 0) return;
    // After the attach has returned: the connection is fully set up by then.
    setImmediate(() => void this.converge(device));
  }

  /** Settles the station's pending ends from its own report, then sends it what it missed. */
  private async converge(station: string): Promise<void> {
    for (const id of this.pendingIds(station)) {
      if (!this.busy.has(id))
        await this.guarded(id, () => this.enforcer.settlePending(this.get(id)!, this.clock.now()));
    }
    await this.copies
      .push(station)
      .catch((err: Error) => this.o.log.error({ station, err }, 'could not bring the station up to date'));
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
    const outcome = await this.send(s.station, { name: 'warn', params: { message } });
    if (outcome.status !== 'succeeded')
      this.o.log.warn({ session: id, station: s.station, error: outcome.error }, 'warning not delivered');
    this.record(s, 'warned', {}, now);
  }

  private async expire(id: string, now: number): Promise<void> {
    const s = this.get(id)!;
    const acted = await this.enforcer.act(s);
    this.o.db.prepare(`UPDATE sessions SET state = 'ended', ended_at = ? WHERE id = ?`).run(now, id);
    this.record(s, 'ended', { duration_min: (s.ends_at - s.started_at) / MINUTE }, now);
    this.enforcer.judge(this.get(id)!, acted, now);
    this.writeActive(now);
  }

  /** Records what the station should hold now and sends it; a station that is away gets it when back. */
  private async tellStation(s: StationSession, endsAt: number | null): Promise<void> {
    if (s.action === 'power_off') return; // a console has no agent: the plug is the enforcement
    this.copies.want(s.station, endsAt, endsAt === null ? null : s.action);
    const outcome = await this.copies.push(s.station);
    if (outcome && outcome.status !== 'succeeded') {
      this.o.log.warn(
        { session: s.id, station: s.station, error: outcome.error },
        'the station could not be told now; it is told when it is back',
      );
    }
  }

  private async send(device: string, request: CommandRequest): Promise<Sent> {
    return this.o.dispatch(device, request).catch((err: Error) => ({ status: 'failed', error: err.message }));
  }

  private pendingIds(station: string): string[] {
    return (
      this.o.db.prepare(`SELECT id FROM sessions WHERE station = ? AND enforcement = 'pending'`).all(station) as Array<{
        id: string;
      }>
    ).map((r) => r.id);
  }

  private pendingStations(): string[] {
    return (
      this.o.db.prepare(`SELECT DISTINCT station FROM sessions WHERE enforcement = 'pending'`).all() as Array<{
        station: string;
      }>
    ).map((r) => r.station);
  }

  private active(id: string): StationSession {
    const s = this.get(id);
    if (!s) throw new SessionError('not_found', `no session ${id}`);
    if (s.state !== 'active') throw new SessionError('not_active', `session ${id} is ${s.state}`);
    return s;
  }

  private record(s: StationSession, event: string, extra: Fields, time: number): void {
    const ends = this.get(s.id)?.ends_at ?? s.ends_at;
    this.o.emit(
      stationSession.name,
      conformFields(stationSession, { event, session_id: s.id, ends_at_ms: ends, ...extra }),
      { device: s.station, action: s.action },
      time,
    );
  }

  private writeActive(now: number): void {
    this.lastActiveWrite = now;
    const rows = this.o.db
      .prepare(`SELECT COALESCE(site, '') AS site, COUNT(*) AS n FROM sessions WHERE state = 'active' GROUP BY site`)
      .all() as Array<{ site: string; n: number }>;
    const sites = new Set(rows.map((r) => r.site));
    // Sites that just went to zero must be written as zero, not left at their last count.
    for (const r of this.o.db.prepare(`SELECT DISTINCT COALESCE(site, '') AS site FROM sessions`).all() as Array<{
      site: string;
    }>) {
      if (!sites.has(r.site)) rows.push({ site: r.site, n: 0 });
    }
    for (const r of rows)
      this.o.emit(
        stationSessionsActive.name,
        conformFields(stationSessionsActive, { active: r.n }),
        { site: r.site || undefined },
        now,
      );
  }
}
