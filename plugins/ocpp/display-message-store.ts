/**
 * The messages each 2.0.1 charger shows, as we know them (`ocpp_display_messages`): what
 * set_display_message put there and clear_display_message removed, and what the charger
 * reported (display-message-handlers.ts).
 */
import type Database from 'better-sqlite3';

export interface DisplayMessage {
  id: number;
  priority: string;
  state: string | null;
  format: string;
  language: string | null;
  content: string;
  start_at: string | null;
  end_at: string | null;
  transaction_id: string | null;
  evse: number | null;
  source: 'operator' | 'charger';
  updated_at: number;
}

export class DisplayMessages {
  private readonly upsert: Database.Statement;
  private readonly drop: Database.Statement;
  private readonly select: Database.Statement;

  constructor(db: Database.Database) {
    this.upsert = db.prepare(`INSERT INTO ocpp_display_messages
      (charger, id, priority, state, format, language, content, start_at, end_at, transaction_id, evse, source, updated_at)
      VALUES (@charger, @id, @priority, @state, @format, @language, @content, @start_at, @end_at, @transaction_id,
        @evse, @source, @updated_at)
      ON CONFLICT (charger, id) DO UPDATE SET priority = excluded.priority, state = excluded.state,
        format = excluded.format, language = excluded.language, content = excluded.content,
        start_at = excluded.start_at, end_at = excluded.end_at, transaction_id = excluded.transaction_id,
        evse = excluded.evse, source = excluded.source, updated_at = excluded.updated_at`);
    this.drop = db.prepare('DELETE FROM ocpp_display_messages WHERE charger = ? AND id = ?');
    this.select = db.prepare(`SELECT id, priority, state, format, language, content, start_at, end_at, transaction_id,
      evse, source, updated_at FROM ocpp_display_messages WHERE charger = ? ORDER BY id`);
  }

  put(charger: string, message: DisplayMessage): void {
    this.upsert.run({ charger, ...message });
  }

  remove(charger: string, id: number): void {
    this.drop.run(charger, id);
  }

  of(charger: string): DisplayMessage[] {
    return this.select.all(charger) as DisplayMessage[];
  }
}
