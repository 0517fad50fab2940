import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { conformFields, type DeviceRecord, type Fields, type Tags } from '../../sdk/index.ts';
import type { CommandRequest } from '../../commands/command-bus.ts';
import { sessionEnforcement } from './session-measurements.ts';
import type { EnforcedBy, Enforcement, StationSession } from './session.ts';
import type { Sent, StationCopies } from './session-stations.ts';

export interface SessionEnforcerOptions {
  db: Database.Database;
  send: (device: string, request: CommandRequest) => Promise<Sent>;
  emit: (measurement: string, fields: Fields, tags?: Tags, time?: number) => void;
  lookup: (deviceId: string) => DeviceRecord | undefined;
  log: Logger;
  copies: StationCopies;
  /** How long a pending end waits for the station's report after the end, ms. */
  graceMs: number;
  powerOffCommand?: { name: string; params?: unknown };
  maintenance?: { inMaintenance(device: DeviceRecord, now: number): boolean };
}

/** The end action as it was sent, and what came of it. */
export interface Acted {
  name: string;
  outcome: Sent;
}

/**
 * Carries out session ends and records how each went, in the session row and as one
 * `session_enforcement` point per step. A station that could not be reached (or whose lock failed)
 * but holds the end ends the session itself: that end is `pending` until the station reports
 * (`session_status`) or the grace is over; so an end the station enforced locally is no failure,
 * and every real failure (server command, station, plug) lands in the same measurement.
 */
export class SessionEnforcer {
  constructor(private readonly o: SessionEnforcerOptions) {}

  /** Sends the end action: the plug's power_off, or lock/log_off to the station. */
  async act(s: StationSession): Promise<Acted> {
    const byPlug = s.action === 'power_off';
    const request = byPlug
      ? { name: this.o.powerOffCommand?.name ?? 'power_off', params: this.o.powerOffCommand?.params ?? {} }
      : { name: s.action };
    return { name: request.name, outcome: await this.o.send(byPlug ? s.plug! : s.station, request) };
  }

  /** Records the end of a session that just ended: enforced, pending the station's report, or failed. */
  judge(s: StationSession, acted: Acted, now: number): void {
    const byPlug = s.action === 'power_off';
    if (acted.outcome.status === 'succeeded') return this.settle(s, 'ok', byPlug ? 'plug' : 'server', null, now);
    const error = `${acted.name} ${acted.outcome.status}: ${acted.outcome.error ?? 'no detail'}`;
    if (byPlug) return this.settle(s, 'failed', 'plug', error, now);
    if (this.holdsEnd(s, this.o.copies.held(s.station).ends_at)) {
      // It ends the session itself (and retries a failed lock); what it did is asked from the next
      // tick on, or as soon as it is back.
      return this.settle(s, 'pending', 'station', `${error}; waiting for the station's own report`, now);
    }
    this.settle(
      s,
      'failed',
      'server',
      `${error}; the station did not hold this end time, so it could not end the session itself`,
      now,
    );
  }

  /** Asks the station whether it ended a pending session itself; fails it once the grace is over. */
  async settlePending(s: StationSession, now: number): Promise<void> {
    if (s.enforcement !== 'pending') return;
    if (now >= (s.ended_at ?? s.ends_at) + this.o.graceMs) {
      return this.settle(
        s,
        'failed',
        'station',
        `no report from the station within ${Math.round(this.o.graceMs / 1000)} s of the end (${s.error})`,
        now,
      );
    }
    const outcome = await this.o.send(s.station, { name: 'session_status' });
    // Not back yet, or back without its command list yet: asked again on the next tick.
    if (outcome.status !== 'succeeded') return;
    const r = (outcome.result ?? {}) as { state?: string; ends_at_ms?: number; error?: string | null };
    const ours = this.holdsEnd(s, r.ends_at_ms ?? null);
    if (r.state === 'enforced' && ours) return this.settle(s, 'ok', 'station', null, now);
    if (r.state === 'active' && ours && r.error)
      return this.settle(s, 'failed', 'station', `the station could not end it: ${r.error}`, now);
    if (r.state === 'active' && ours) return; // its own check is due; asked again next tick
    const reported = `${r.state ?? 'nothing'}${r.ends_at_ms ? ` ending ${new Date(r.ends_at_ms).toISOString()}` : ''}`;
    this.settle(s, 'failed', 'station', `the station holds no record of this end (it reports ${reported})`, now);
  }

  /** An end the station holds belongs to this session (an older session's end does not count). */
  private holdsEnd(s: StationSession, endsAt: number | null): boolean {
    return endsAt !== null && endsAt > s.started_at && endsAt <= s.ends_at;
  }

  private settle(s: StationSession, enforcement: Enforcement, by: EnforcedBy, error: string | null, now: number): void {
    this.o.db
      .prepare(`UPDATE sessions SET enforcement = ?, enforced_by = ?, error = ? WHERE id = ?`)
      .run(enforcement, by, error, s.id);
    const target = s.action === 'power_off' ? s.plug! : s.station;
    const device = this.o.lookup(s.station);
    const maintenance = device && this.o.maintenance?.inMaintenance(device, now) ? 1 : 0;
    const state = enforcement === 'ok' ? 'enforced' : enforcement;
    if (enforcement === 'failed')
      this.o.log.error({ session: s.id, station: s.station, target, by, error }, 'session end could not be enforced');
    else this.o.log.info({ session: s.id, station: s.station, by, state }, 'session end');
    this.o.emit(
      sessionEnforcement.name,
      conformFields(sessionEnforcement, {
        state,
        failed: enforcement === 'failed' ? 1 : 0,
        by,
        maintenance,
        session_id: s.id,
        target,
        error: error ?? '',
      }),
      { device: s.station, action: s.action },
      now,
    );
  }
}
