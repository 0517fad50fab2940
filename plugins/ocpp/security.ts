/**
 * OCPP security profiles (1.6 security whitepaper §2, 2.0.1 part 2 A00): 1 = ws:// + Basic Auth,
 * 2 = wss:// + Basic Auth, 3 = wss:// + a TLS client certificate. Each charger's profile is kept
 * here, raised only after the charger accepted the change, and a handshake below it is refused:
 * a charger once at 2 never connects over plain ws:// again, whatever password it knows.
 */
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type Database from 'better-sqlite3';

export type SecurityProfile = 1 | 2 | 3;

export class SecurityProfiles {
  private readonly read: Database.Statement<[string], { profile: SecurityProfile }>;
  private readonly write: Database.Statement<[string, number, number]>;

  constructor(db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS ocpp_security_profiles (
      charger TEXT PRIMARY KEY, profile INTEGER NOT NULL, raised_at INTEGER NOT NULL) WITHOUT ROWID`);
    this.read = db.prepare('SELECT profile FROM ocpp_security_profiles WHERE charger = ?');
    // Never lowered: a lower profile would reopen the door the higher one closed.
    this.write = db.prepare(`INSERT INTO ocpp_security_profiles (charger, profile, raised_at) VALUES (?, ?, ?)
      ON CONFLICT DO UPDATE SET profile = excluded.profile, raised_at = excluded.raised_at
      WHERE excluded.profile > ocpp_security_profiles.profile`);
  }

  /** The lowest profile the charger may connect with (1 until raised). */
  of(charger: string): SecurityProfile {
    return this.read.get(charger)?.profile ?? 1;
  }

  raise(charger: string, profile: SecurityProfile, now: number): void {
    this.write.run(charger, profile, now);
  }
}

/** What a handshake presents: the profile it meets, and the identity its certificate names. */
export interface Presented {
  profile: SecurityProfile;
  /** Subject CN of a valid client certificate issued by our CA (profile 3). */
  certified?: string;
}

/**
 * The profile a handshake meets. `secure`: it came over TLS (serve's own, or a trusted proxy's,
 * which meets profile 2 at most). Profile 3 only with a certificate our CA issued that is valid
 * now, seen on serve's own TLS; any other certificate is ignored.
 */
export function presented(
  secure: boolean,
  request: IncomingMessage,
  ca: X509Certificate | undefined,
  now: number,
): Presented {
  if (!secure) return { profile: 1 };
  const socket = request.socket as Partial<TLSSocket>;
  const peer = ca && socket.encrypted ? socket.getPeerX509Certificate?.() : undefined;
  if (!ca || !peer || !issuedBy(peer, ca, now)) return { profile: 2 };
  return { profile: 3, certified: commonName(peer) };
}

export function issuedBy(cert: X509Certificate, ca: X509Certificate, now: number): boolean {
  return (
    cert.checkIssued(ca) &&
    cert.verify(ca.publicKey) &&
    Date.parse(cert.validFrom) <= now &&
    now <= Date.parse(cert.validTo)
  );
}

/** The subject's CN (`X509Certificate.subject` is one `key=value` a line). */
export function commonName(cert: X509Certificate): string | undefined {
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}
