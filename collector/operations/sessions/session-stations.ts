import type Database from 'better-sqlite3';
import type { CommandRequest } from '../../commands/command-bus.ts';

/** What a command to a station came to (a CommandOutcome, or a thrown error turned into one). */
export interface Sent {
  status: string;
  result?: unknown;
  error?: string;
}

/** The session end a station's agent holds (null: none, or it was cleared). */
export interface StationCopy {
  ends_at: number | null;
  action: string | null;
}

interface Row {
  wanted_ends_at: number | null;
  wanted_action: string | null;
  held_ends_at: number | null;
  held_action: string | null;
  dirty: number;
}

/**
 * The end time each station's agent holds, beside the one the server wants it to hold. The
 * server's end is the authoritative one; the station keeps a copy (`session_set`) so that it can
 * end the session with its uplink cut. A change the station could not be told (a session started,
 * extended or stopped while it was unreachable) stays `dirty` and is sent again when the station
 * is back, so the station converges on the server's end instead of enforcing a stale one (locking
 * a customer who paid for more, or a station whose customer left). In the inventory file, so a
 * restart of the server forgets nothing.
 */
export class StationCopies {
  private readonly busy = new Set<string>();
  private readonly upsertWanted: Database.Statement;
  private readonly setHeld: Database.Statement;
  private readonly selectDirty: Database.Statement;
  private readonly selectRow: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly send: (station: string, request: CommandRequest) => Promise<Sent>,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS session_stations (
        station TEXT PRIMARY KEY, wanted_ends_at INTEGER, wanted_action TEXT,
        held_ends_at INTEGER, held_action TEXT, dirty INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX IF NOT EXISTS session_stations_dirty ON session_stations (station) WHERE dirty = 1;
    `);
    // Prepared once: the scheduler asks every tick.
    this.upsertWanted = db.prepare(
      `INSERT INTO session_stations (station, wanted_ends_at, wanted_action, dirty) VALUES (@station, @endsAt, @action, @endsAt IS NOT NULL)
       ON CONFLICT(station) DO UPDATE SET wanted_ends_at = @endsAt, wanted_action = @action,
         dirty = (@endsAt IS NOT held_ends_at OR @action IS NOT held_action)`,
    );
    this.setHeld = db.prepare(
      `UPDATE session_stations SET held_ends_at = @endsAt, held_action = @action,
         dirty = (wanted_ends_at IS NOT @endsAt OR wanted_action IS NOT @action) WHERE station = @station`,
    );
    this.selectDirty = db.prepare('SELECT station FROM session_stations WHERE dirty = 1').pluck();
    this.selectRow = db.prepare(
      'SELECT wanted_ends_at, wanted_action, held_ends_at, held_action, dirty FROM session_stations WHERE station = ?',
    );
  }

  /** From now on the station should hold this end (null: nothing, the session was stopped). */
  want(station: string, endsAt: number | null, action: string | null): void {
    this.upsertWanted.run({ station, endsAt, action });
  }

  /** What the station acknowledged last (a station never told anything holds nothing). */
  held(station: string): StationCopy {
    const row = this.row(station);
    return { ends_at: row?.held_ends_at ?? null, action: row?.held_action ?? null };
  }

  /** True when the station holds what the server wants it to. */
  inSync(station: string): boolean {
    return !this.row(station)?.dirty;
  }

  /** Stations that still have to be told something. */
  dirty(): string[] {
    return this.selectDirty.all() as string[];
  }

  /**
   * Sends the station what it should hold, if that differs from what it holds. Resolves with the
   * outcome (undefined when there was nothing to send, or a send to it is already under way);
   * a failure leaves it dirty for the next attempt.
   */
  async push(station: string): Promise<Sent | undefined> {
    if (this.busy.has(station)) return undefined;
    this.busy.add(station);
    try {
      const row = this.row(station);
      if (!row?.dirty) return undefined;
      const endsAt = row.wanted_ends_at;
      const action = row.wanted_action;
      const request: CommandRequest =
        endsAt === null ? { name: 'session_clear' } : { name: 'session_set', params: { ends_at_ms: endsAt, action } };
      const outcome = await this.send(station, request);
      if (outcome.status === 'succeeded') {
        // The wanted end may have moved while this was on its way: then it stays dirty.
        this.setHeld.run({ station, endsAt, action });
      }
      return outcome;
    } finally {
      this.busy.delete(station);
    }
  }

  private row(station: string): Row | undefined {
    return this.selectRow.get(station) as Row | undefined;
  }
}
