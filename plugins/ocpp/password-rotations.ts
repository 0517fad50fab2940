import type Database from 'better-sqlite3';

/** Passwords a charger accepted (rotation.ts) and has not connected with yet. */
export class PasswordRotations {
  private readonly read: Database.Statement<[string], { credential: string }>;
  private readonly write: Database.Statement<[string, string, number]>;
  private readonly done: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS ocpp_password_rotations (
      charger TEXT PRIMARY KEY, credential TEXT NOT NULL, accepted_at INTEGER NOT NULL) WITHOUT ROWID`);
    this.read = db.prepare('SELECT credential FROM ocpp_password_rotations WHERE charger = ?');
    this.write = db.prepare(`INSERT INTO ocpp_password_rotations (charger, credential, accepted_at) VALUES (?, ?, ?)
      ON CONFLICT DO UPDATE SET credential = excluded.credential, accepted_at = excluded.accepted_at`);
    this.done = db.prepare('DELETE FROM ocpp_password_rotations WHERE charger = ?');
  }

  /** The credential a charger accepted and has not connected with yet. */
  pending(charger: string): string | undefined {
    return this.read.get(charger)?.credential;
  }

  accepted(charger: string, credential: string, now: number): void {
    this.write.run(charger, credential, now);
  }

  finished(charger: string): void {
    this.done.run(charger);
  }
}
