import type { Database, Statement } from 'better-sqlite3';
import type { DeviceStatusState } from '../sdk/devices.ts';
import type { DeviceCache } from './device-records.ts';

/**
 * Live state from the runtime's liveness tracker. A fleet coming back after an outage reports
 * thousands of transitions at once, so reports are collected and written in one transaction
 * per event-loop turn; readers call `flush()` first, so nobody reads a stale state. The cache
 * takes the same change in memory rather than reading each row back: with 30,000 devices coming
 * online, an UPDATE and a re-read per transition were 8.6 s of the server's 63 s busy (issue 19).
 */
export class DeviceStatusWriter {
  private pending = new Map<string, { state: DeviceStatusState; lastSeen: number }>();
  private scheduled: NodeJS.Immediate | undefined;
  private readonly update: Statement<[DeviceStatusState, number, number, string]>;

  constructor(
    private readonly db: Database,
    private readonly cache: DeviceCache,
  ) {
    this.update = db.prepare(
      `UPDATE devices SET state = ?, last_seen = max(coalesce(last_seen, 0), ?), first_seen = coalesce(first_seen, ?)
       WHERE id = ?`,
    );
  }

  report(id: string, state: DeviceStatusState, lastSeen: number): void {
    this.pending.set(id, { state, lastSeen });
    this.scheduled ??= setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.pending.size === 0 || !this.db.open) return;
    const batch = this.pending;
    this.pending = new Map();
    this.db.transaction(() => {
      for (const [id, s] of batch) this.update.run(s.state, s.lastSeen, s.lastSeen, id);
    })();
    for (const [id, s] of batch) this.cache.statusWritten(id, s.state, s.lastSeen);
  }
}
