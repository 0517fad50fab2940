import type { Logger } from 'pino';
import type { Incident, Incidents } from './incidents.ts';
import type { Database } from 'better-sqlite3';

export interface EscalationOptions {
  db: Database;
  incidents: Incidents;
  /**
   * Webhook URLs of the contacts, in order: the first escalation goes to the first, the next
   * (still unacknowledged after another delay) to the second, and so on. Default none (off).
   */
  contacts: readonly string[];
  /** An unacknowledged incident is escalated after this long, s (and again after as long). Default 900. */
  delayS?: number;
  /** Severities that escalate. Default `['critical']`. */
  severities?: readonly string[];
  /** How often incidents are checked, ms. Default 30,000. */
  checkEveryMs?: number;
  /** Each contact must answer within this long, ms. Default 10,000. */
  timeoutMs?: number;
  log: Logger;
  now?: () => number;
}

/**
 * Grafana notifies but has no acknowledge: an open incident of an escalating severity that nobody
 * acknowledged within `delayS` is posted (JSON) to the next contact's webhook. A contact that
 * fails is tried again at the next check; the escalation counts only once delivered.
 */
export class Escalator {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly o: EscalationOptions) {}

  start(): void {
    if (this.o.contacts.length === 0) return;
    this.timer = setInterval(() => void this.check(), this.o.checkEveryMs ?? 30_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
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
        .all(this.o.contacts.length, ...severities, now - delayMs) as number[];
      let delivered = 0;
      for (const id of due) if (await this.escalate(this.o.incidents.require(id), now)) delivered++;
      return delivered;
    } finally {
      this.running = false;
    }
  }

  private async escalate(incident: Incident, now: number): Promise<boolean> {
    const contact = this.o.contacts[incident.escalations]!;
    const body = {
      event: 'incident_escalated',
      level: incident.escalations + 1,
      incident: { ...incident, starts_at: new Date(incident.starts_at).toISOString() },
      message: `Unacknowledged ${incident.severity} incident #${incident.id}: ${incident.summary ?? incident.rule}${incident.device ? ` on ${incident.device}` : ''}`,
    };
    const where = new URL(contact).host;
    try {
      const res = await fetch(contact, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.o.log.warn({ incident: incident.id, contact: where, err: message }, 'escalation failed; will retry');
      return false;
    }
    this.o.db.prepare('UPDATE incidents SET escalations = escalations + 1, escalated_at = ?, updated_at = ? WHERE id = ?').run(now, now, incident.id);
    this.o.incidents.note(incident.id, 'fleetpulse', 'escalated', `escalated to contact ${incident.escalations + 1} (${where})`, { level: incident.escalations + 1 });
    return true;
  }
}
