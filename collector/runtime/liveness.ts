import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import {
  isDiskFull,
  type DeviceDirectory,
  type DeviceRecord,
  type DeviceState,
  type Fields,
  type Tags,
} from '../sdk/index.ts';
import { SITE_OUTAGE_DEFAULTS, type Cause, type SiteOutagePolicy } from './dependencies.ts';
import { DependencyIndex } from './dependency-index.ts';
import { fleetFirmwareGroups, fleetStatusGroups } from './fleet-groups.ts';
import {
  deviceAttention,
  deviceAvailability,
  deviceStatus,
  fleetFirmware,
  fleetStatus,
  siteStatus,
} from './measurements.ts';

export { FIRMWARE_GROUP_TAGS, FLEET_GROUP_TAGS, fleetFirmwareGroups, fleetStatusGroups } from './fleet-groups.ts';

/** Decides whether a device is inside a maintenance window now (the operations layer implements it). */
export interface MaintenanceCalendar {
  inMaintenance(device: DeviceRecord, now: number): boolean;
}

export interface LivenessOptions {
  db: Database.Database;
  directory: DeviceDirectory;
  /** Writes a device point (the runtime enriches it with inventory tags). */
  write(measurement: string, fields: Fields, deviceId: string, time: number): void;
  /**
   * Writes a point of no device (`fleet_status`, `fleet_firmware`) with exactly these tags; the runtime passes the
   * Emitter's `system()`, which adds no inventory tags to a tag set without `device`. Without it
   * no fleet counts are written.
   */
  writeGroup?(measurement: string, fields: Fields, tags: Tags, time: number): void;
  /** Reporting interval in seconds for a device kind; undefined when no plugin serves the kind. */
  intervalFor(kind: string): number | undefined;
  log: Logger;
  /** Every device's status is written this often, s. Default 60. */
  statusIntervalS?: number;
  /** A device is offline after this many reporting intervals without a report. Default 2. */
  missedIntervals?: number;
  maintenance?: MaintenanceCalendar;
  /** When most of a site counts as one outage (`liveness.site_outage_*`). */
  siteOutage?: Partial<SiteOutagePolicy>;
  onStates?: (counts: Record<DeviceState, number>) => void;
}

type Reported = 'online' | 'error' | 'offline';
const HOUR = 3_600_000;
const DEFAULT_INTERVAL_S = 60;
/** States written to `device_attention`; leaving them writes one last point with the new state. */
const ATTENTION: ReadonlySet<DeviceState> = new Set(['offline', 'error']);
/** A plugin's reason is a short label (an error code), not a log line. */
const MAX_REASON = 64;

interface Entry {
  id: string;
  reported: Reported;
  lastSeen: number | undefined;
  state: DeviceState;
  /** When `state` began (or when this process started watching the device in it). */
  since: number;
  /** What the plugin said with its last `error` report. */
  reason: string;
  /** The device's last `device_attention` point says offline or error (the list shows it). */
  attention: boolean;
  /** Why it is offline (`self` when it is not); see dependencies.ts. */
  cause: Cause;
  /** Devices whose gateway it is, and those of them offline because it is unreachable. */
  dependents: number;
  dependentsOffline: number;
  hourStart: number;
  /** Milliseconds spent in each state during the current hour, counted up to `countedTo`. */
  spent: Record<DeviceState, number>;
  countedTo: number;
}

/**
 * Liveness for every watched device. It knows each transition exactly, so besides
 * `device_status` it keeps an hourly account of time per state (`device_availability`).
 * Its state survives restarts in the runtime's SQLite file; the time the process itself was down
 * is counted for no state (nobody could observe the devices).
 */
export class Liveness {
  private readonly entries = new Map<string, Entry>();
  private readonly o: Required<Omit<LivenessOptions, 'maintenance' | 'onStates' | 'writeGroup' | 'siteOutage'>> &
    Pick<LivenessOptions, 'maintenance' | 'onStates' | 'writeGroup'> & { siteOutage: SiteOutagePolicy };
  /** Causes and dependents; a state changed outside a tick (a report, a closed connection) is related at the next. */
  private readonly relations: DependencyIndex<Entry>;
  private lastFullStatus = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** A save failed for a full disk; said once, until a save succeeds. */
  private unsaved = false;

  constructor(options: LivenessOptions) {
    // `?? default` rather than spreading: a caller passing `missedIntervals: undefined` (the
    // Collector does when the config has no liveness section) must still get the default.
    this.o = {
      ...options,
      statusIntervalS: options.statusIntervalS ?? 60,
      missedIntervals: options.missedIntervals ?? 2,
      siteOutage: {
        share: options.siteOutage?.share ?? SITE_OUTAGE_DEFAULTS.share,
        windowS: options.siteOutage?.windowS ?? SITE_OUTAGE_DEFAULTS.windowS,
        minDevices: options.siteOutage?.minDevices ?? SITE_OUTAGE_DEFAULTS.minDevices,
      },
    };
    this.relations = new DependencyIndex(this.o.siteOutage);
    this.o.db.exec(`CREATE TABLE IF NOT EXISTS liveness (
      device TEXT PRIMARY KEY, reported TEXT NOT NULL, last_seen INTEGER, hour_start INTEGER NOT NULL,
      online_ms INTEGER NOT NULL, error_ms INTEGER NOT NULL, offline_ms INTEGER NOT NULL, maintenance_ms INTEGER NOT NULL)`);
    // Added with device_attention: whether a device's list entry is still open must survive a
    // restart, or a device that recovered while we were down would stay listed (or every device
    // would get a closing point, one series each).
    const columns = new Set(
      (this.o.db.prepare('PRAGMA table_info(liveness)').all() as Array<{ name: string }>).map((c) => c.name),
    );
    for (const [name, type] of [
      ['state', 'TEXT'],
      ['since', 'INTEGER'],
      ['attention', 'INTEGER NOT NULL DEFAULT 0'],
    ]) {
      if (!columns.has(name)) this.o.db.exec(`ALTER TABLE liveness ADD COLUMN ${name} ${type}`);
    }
  }

  /** Loads the saved state and every device of the directory; call once before `start`. */
  load(now: number): void {
    const rows = this.o.db.prepare('SELECT * FROM liveness').all() as Array<{
      device: string;
      reported: Reported;
      last_seen: number | null;
      hour_start: number;
      online_ms: number;
      error_ms: number;
      offline_ms: number;
      maintenance_ms: number;
      state: DeviceState | null;
      since: number | null;
      attention: number;
    }>;
    for (const r of rows) {
      const entry = this.entry(r.device, now);
      entry.reported = r.reported;
      entry.lastSeen = r.last_seen ?? undefined;
      if (r.hour_start === entry.hourStart) {
        entry.spent = { online: r.online_ms, error: r.error_ms, offline: r.offline_ms, maintenance: r.maintenance_ms };
      }
      entry.state = this.stateOf(entry, now);
      if (r.state === entry.state && r.since !== null) entry.since = r.since;
      entry.attention = r.attention === 1;
    }
    this.syncDirectory(now);
  }

  start(tickMs = 1000): void {
    this.timer = setInterval(() => this.tick(Date.now()), tickMs);
    this.timer.unref();
  }

  /** Stops ticking, writes the partial hour and saves state. */
  stop(now: number): void {
    // Late reports (a socket closing after shutdown) must not touch a closed inventory.
    this.stopped = true;
    clearInterval(this.timer);
    for (const e of this.entries.values()) {
      this.count(e, now);
      this.writeAvailability(e);
    }
    this.save(now);
  }

  /** `reason`: what the plugin says about an error (kept on the device's attention point, ≤ 64 characters). */
  seen(deviceId: string, reported: 'online' | 'error', now: number, reason?: string): void {
    if (this.stopped) return;
    const e = this.entry(deviceId, now);
    e.lastSeen = now;
    e.reported = reported;
    // eslint-disable-next-line no-control-regex -- a control character would make the whole point unwritable
    const said = reported === 'error' ? (reason ?? '').replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, MAX_REASON) : '';
    const newReason = said !== e.reason;
    e.reason = said;
    // A new error code on a device already in error is news for the list: written at once.
    if (!this.update(e, now) && newReason && e.state === 'error') this.writeAttention(e, now);
  }

  offline(deviceId: string, now: number): void {
    if (this.stopped) return;
    const e = this.entries.get(deviceId);
    if (!e) return;
    e.reported = 'offline';
    this.update(e, now);
  }

  state(deviceId: string): { state: DeviceState; lastSeen: number | undefined } | undefined {
    const e = this.entries.get(deviceId);
    return e && { state: e.state, lastSeen: e.lastSeen };
  }

  /**
   * The devices offline because of `cause` (`gateway_offline`: behind gateway `key`;
   * `site_outage`: at site `key`), for the incident of that cause.
   */
  affectedBy(cause: Exclude<Cause, 'self'>, key: string): string[] {
    return this.relations.affectedBy(cause, key);
  }

  /** Expires silent devices, rolls hours over, and writes every status each status interval. */
  tick(now: number): void {
    const full = now - this.lastFullStatus >= this.o.statusIntervalS * 1000;
    if (full) this.syncDirectory(now);
    const moved = new Set<Entry>();
    for (const e of this.entries.values()) {
      const device = this.o.directory.lookup(e.id);
      if (this.transition(e, now, device)) moved.add(e);
      this.relations.place(e, device, this.reachOf(e, now, device) === 'offline');
      if (now >= e.hourStart + HOUR) this.rollHour(e, now);
    }
    // Causes only change when a state or a record does: only the groups of those are related
    // again; every status interval, the whole fleet.
    for (const e of moved) this.relations.moved(e);
    const related = this.relations.relate(full);
    for (const e of full ? this.entries.values() : new Set([...moved, ...related])) this.writeStatus(e, now);
    for (const e of moved) this.o.directory.reportStatus(e.id, e.state, e.lastSeen ?? 0);
    if (full) {
      this.lastFullStatus = now;
      this.save(now);
      this.reportCounts(now);
    }
  }

  private entry(id: string, now: number): Entry {
    let e = this.entries.get(id);
    if (!e) {
      e = {
        id,
        reported: 'offline',
        lastSeen: undefined,
        state: 'offline',
        since: now,
        reason: '',
        attention: false,
        cause: 'self',
        dependents: 0,
        dependentsOffline: 0,
        hourStart: now - (now % HOUR),
        spent: { online: 0, error: 0, offline: 0, maintenance: 0 },
        countedTo: now,
      };
      this.entries.set(id, e);
    }
    return e;
  }

  private syncDirectory(now: number): void {
    for (const d of this.o.directory.all()) {
      if (this.entries.has(d.id)) continue;
      // A device never seen is offline, unless it is in a maintenance window right now.
      const e = this.entry(d.id, now);
      e.state = this.stateOf(e, now);
      this.writeStatus(e, now);
    }
  }

  /** A transition outside a tick: written at once; its cause is related again at the next tick. */
  private update(e: Entry, now: number): boolean {
    if (!this.transition(e, now)) return false;
    this.relations.moved(e);
    // Back online is by itself; a new offline stays `self` until the tick says otherwise.
    if (e.state !== 'offline') e.cause = 'self';
    this.writeStatus(e, now);
    this.o.directory.reportStatus(e.id, e.state, e.lastSeen ?? 0);
    return true;
  }

  /** Recomputes the state; on a transition counts time and returns true. */
  private transition(e: Entry, now: number, device = this.o.directory.lookup(e.id)): boolean {
    const state = this.stateOf(e, now, device);
    if (state === e.state) return false;
    if (now >= e.hourStart + HOUR) this.rollHour(e, now);
    this.count(e, now);
    e.state = state;
    e.since = now;
    return true;
  }

  private stateOf(e: Entry, now: number, device = this.o.directory.lookup(e.id)): DeviceState {
    if (device && this.o.maintenance?.inMaintenance(device, now)) return 'maintenance';
    return this.reachOf(e, now, device);
  }

  /** The state the device's reports say, maintenance aside. */
  private reachOf(e: Entry, now: number, device = this.o.directory.lookup(e.id)): Reported {
    if (e.reported === 'offline' || e.lastSeen === undefined) return 'offline';
    const intervalS = (device && this.o.intervalFor(device.kind)) ?? DEFAULT_INTERVAL_S;
    return now - e.lastSeen > intervalS * this.o.missedIntervals * 1000 ? 'offline' : e.reported;
  }

  private count(e: Entry, now: number): void {
    if (now > e.countedTo) e.spent[e.state] += now - e.countedTo;
    e.countedTo = now;
  }

  private rollHour(e: Entry, now: number): void {
    while (now >= e.hourStart + HOUR) {
      const end = e.hourStart + HOUR;
      this.count(e, end);
      this.writeAvailability(e);
      e.hourStart = end;
      e.spent = { online: 0, error: 0, offline: 0, maintenance: 0 };
    }
  }

  private writeStatus(e: Entry, now: number): void {
    const fields: Fields = {
      online: e.state === 'online' || e.state === 'error' ? 1 : 0,
      state: e.state,
      cause: e.cause,
      dependents: e.dependents,
      dependents_offline: e.dependentsOffline,
    };
    if (e.lastSeen !== undefined) fields.last_seen_s = Math.max(0, Math.floor((now - e.lastSeen) / 1000));
    this.o.write(deviceStatus.name, fields, e.id, now);
    this.writeAttention(e, now);
  }

  /**
   * `device_attention`: a point for a device offline or in error (with each status), and one
   * closing point with the new state when it leaves them. Healthy devices write nothing, so the
   * lists read only the series of the devices they show.
   */
  private writeAttention(e: Entry, now: number): void {
    const needs = ATTENTION.has(e.state);
    if (!needs && !e.attention) return;
    const fields: Fields = {
      state: e.state,
      since_s: Math.max(0, Math.floor((now - e.since) / 1000)),
      reason: e.state === 'error' ? e.reason : '',
    };
    if (e.lastSeen !== undefined) fields.last_seen_s = Math.max(0, Math.floor((now - e.lastSeen) / 1000));
    this.o.write(deviceAttention.name, fields, e.id, now);
    e.attention = needs;
  }

  private writeAvailability(e: Entry): void {
    const s = e.spent;
    if (s.online + s.error + s.offline + s.maintenance === 0) return;
    this.o.write(
      deviceAvailability.name,
      {
        online_s: Math.round(s.online / 1000),
        error_s: Math.round(s.error / 1000),
        offline_s: Math.round(s.offline / 1000),
        maintenance_s: Math.round(s.maintenance / 1000),
      },
      e.id,
      e.hourStart,
    );
  }

  /**
   * The state is saved each status interval on the runtime's disk. A full disk must not end the
   * process (this runs in a timer and at stop): the save is skipped and the next one catches up;
   * a restart meanwhile only loses the counts since the last save.
   */
  private save(now: number): void {
    try {
      this.saveAll(now);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      if (!this.unsaved)
        this.o.log.warn({ err: err.message }, 'liveness state not saved: disk full; retried each status interval');
      this.unsaved = true;
      return;
    }
    if (this.unsaved) this.o.log.info('liveness state saved again');
    this.unsaved = false;
  }

  private saveAll(now: number): void {
    const upsert = this.o.db.prepare(`INSERT INTO liveness
      (device, reported, last_seen, hour_start, online_ms, error_ms, offline_ms, maintenance_ms, state, since, attention)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(device) DO UPDATE SET reported = excluded.reported, last_seen = excluded.last_seen,
      hour_start = excluded.hour_start, online_ms = excluded.online_ms, error_ms = excluded.error_ms,
      offline_ms = excluded.offline_ms, maintenance_ms = excluded.maintenance_ms,
      state = excluded.state, since = excluded.since, attention = excluded.attention`);
    this.o.db.transaction(() => {
      for (const e of this.entries.values()) {
        this.count(e, now);
        upsert.run(
          e.id,
          e.reported,
          e.lastSeen ?? null,
          e.hourStart,
          e.spent.online,
          e.spent.error,
          e.spent.offline,
          e.spent.maintenance,
          e.state,
          e.since,
          e.attention ? 1 : 0,
        );
      }
    })();
  }

  /** Counts per state for the self-metric, and one `fleet_status` and `fleet_firmware` point per inventory group. */
  private reportCounts(now: number): void {
    const counts: Record<DeviceState, number> = { online: 0, offline: 0, error: 0, maintenance: 0 };
    for (const e of this.entries.values()) counts[e.state]++;
    this.o.onStates?.(counts);
    if (!this.o.writeGroup) return;
    const devices = [...this.entries.values()].map((e) => ({ device: this.o.directory.lookup(e.id), state: e.state }));
    // One timestamp for every group of an interval, so a reader can take each group's last point.
    for (const g of fleetStatusGroups(devices)) this.o.writeGroup(fleetStatus.name, g.fields, g.tags, now);
    for (const g of fleetFirmwareGroups(devices.map((d) => d.device)))
      this.o.writeGroup(fleetFirmware.name, g.fields, g.tags, now);
    for (const g of this.relations.siteRows()) this.o.writeGroup(siteStatus.name, g.fields, g.tags, now);
  }
}
