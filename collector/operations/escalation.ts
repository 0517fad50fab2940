import type { Logger } from 'pino';
import type { Incident, Incidents } from './incidents.ts';
import type { Database } from 'better-sqlite3';
import { ContactDelivery, escalationPolicy, parseContact, type Contact } from './escalation-contacts.ts';

export interface EscalationOptions {
  db: Database;
  incidents: Incidents;
  /**
   * The contacts, in order: the first escalation goes to the first, the next (still
   * unacknowledged after another delay) to the second, and so on. Each is a webhook URL
   * (`https://…`, JSON POST) or `mailto:oncall@example.com` (needs `smtp`). Default none (off).
   */
  contacts: readonly string[];
  /** An unacknowledged incident is escalated after this long, s (and again after as long). Default 900. */
  delayS?: number;
  /** Severities that escalate. Default `['critical']`. */
  severities?: readonly string[];
  /**
   * The SMTP server and sender for `mailto:` contacts: `{ url: 'smtp://user:pass@host:587', from:
   * 'fleetpulse@example.com' }`.
   */
  smtp?: { url: string; from: string };
  /**
   * This server's URL as on-call people reach it (`https://fleetpulse.example.com`): notices link
   * to `<publicUrl>/api/v1/incidents/<id>`. Default none: the link is that path alone.
   */
  publicUrl?: string;
  /** How often incidents are checked, ms. Default 30,000. */
  checkEveryMs?: number;
  /** Each contact must answer within this long, ms. Default 10,000. */
  timeoutMs?: number;
  /**
   * Private networks (CIDRs) webhooks and the SMTP server may be in (`operations.escalation.allowed_networks`).
   * Default none: public addresses only; loopback only by an entry inside 127.0.0.0/8.
   */
  allowedNetworks?: readonly string[];
  log: Logger;
  now?: () => number;
}

/**
 * Grafana notifies but has no acknowledge: an open incident of an escalating severity that nobody
 * acknowledged within `delayS` goes to the next contact, by webhook or email. A contact that
 * fails is tried again at the next check; the escalation counts only once delivered.
 */
export class Escalator {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly contacts: Contact[];
  private readonly delivery: ContactDelivery;

  /** Throws `ContactError` for a contact that is neither a webhook nor an email, or email without `smtp`. */
  constructor(private readonly o: EscalationOptions) {
    this.contacts = o.contacts.map(parseContact);
    this.delivery = new ContactDelivery({
      ...(o.smtp ? { smtp: o.smtp } : {}),
      timeoutMs: o.timeoutMs ?? 10_000,
      policy: escalationPolicy(o.allowedNetworks),
    });
    if (!o.smtp && this.contacts.some((c) => c.kind === 'email'))
      throw new Error('mailto: contacts need an SMTP server (smtp)');
    if (o.severities !== undefined && o.severities.length === 0)
      throw new Error('severities must name at least one severity');
  }

  start(): void {
    if (this.contacts.length === 0) return;
    this.timer = setInterval(() => void this.check(), this.o.checkEveryMs ?? 30_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.delivery.close();
  }

  /** Escalates every incident that is due; returns how many were delivered. */
  async check(now = (this.o.now ?? Date.now)()): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const severities = this.o.severities ?? ['critical'];
      const delayMs = (this.o.delayS ?? 900) * 1000;
      const due = this.o.db
        .prepare(
          `SELECT id FROM incidents WHERE status = 'open' AND escalations < ? AND severity IN (${severities.map(() => '?').join(',')})
             AND coalesce(escalated_at, created_at) <= ?`,
        )
        .pluck()
        .all(this.contacts.length, ...severities, now - delayMs) as number[];
      let delivered = 0;
      for (const id of due) if (await this.escalate(this.o.incidents.require(id), now)) delivered++;
      return delivered;
    } finally {
      this.running = false;
    }
  }

  /** Where a notice about an incident points. */
  link(id: number): string {
    return `${(this.o.publicUrl ?? '').replace(/\/+$/, '')}/api/v1/incidents/${id}`;
  }

  private async escalate(incident: Incident, now: number): Promise<boolean> {
    const level = incident.escalations + 1;
    const contact = this.contacts[incident.escalations];
    const where = ContactDelivery.describe(contact);
    try {
      await this.delivery.deliver(contact, {
        incident,
        level,
        levels: this.contacts.length,
        link: this.link(incident.id),
        now,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.o.log.warn({ incident: incident.id, contact: where, err: message }, 'escalation failed; will retry');
      return false;
    }
    this.o.db
      .prepare('UPDATE incidents SET escalations = escalations + 1, escalated_at = ?, updated_at = ? WHERE id = ?')
      .run(now, now, incident.id);
    this.o.incidents.note(incident.id, 'fleetpulse', 'escalated', `escalated to contact ${level} (${where})`, {
      level,
    });
    return true;
  }
}
