import type { X509Certificate } from 'node:crypto';
import type Database from 'better-sqlite3';

/** The certificates signed for chargers, for the audit of who holds what until when. */
export class IssuedCertificates {
  private readonly insert: Database.Statement<[string, string, number, number]>;
  private readonly answer: Database.Statement<[string, string]>;

  constructor(db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS ocpp_certificates (
      serial TEXT PRIMARY KEY, charger TEXT NOT NULL, not_after INTEGER NOT NULL, issued_at INTEGER NOT NULL,
      installed TEXT) WITHOUT ROWID`);
    this.insert = db.prepare(
      'INSERT INTO ocpp_certificates (serial, charger, not_after, issued_at) VALUES (?, ?, ?, ?)',
    );
    this.answer = db.prepare('UPDATE ocpp_certificates SET installed = ? WHERE serial = ?');
  }

  issued(cert: X509Certificate, charger: string, now: number): void {
    this.insert.run(cert.serialNumber, charger, Date.parse(cert.validTo), now);
  }

  /** The charger's answer to CertificateSigned: `Accepted`, `Rejected`, or `unanswered`. */
  installed(cert: X509Certificate, answer: string): void {
    this.answer.run(answer, cert.serialNumber);
  }
}
