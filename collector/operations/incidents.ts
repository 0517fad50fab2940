import type { Database } from 'better-sqlite3';
import type { DeviceRecord } from '../sdk/index.ts';
import { Refusal } from '../errors.ts';
import { StatementCache } from '../inventory/statement-cache.ts';

export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';

export interface Incident {
  id: number;
  /** Grafana's alert-instance fingerprint; with `starts_at` it names one incident. */
  fingerprint: string;
  rule: string;
  severity: string;
  summary: string | null;
  device: string | null;
  customer: string | null;
  site: string | null;
  labels: Record<string, string>;
  status: IncidentStatus;
  /** Epoch ms, as every time here. */
  starts_at: number;
  /** When the alert stopped firing (Grafana's resolved notification). */
  ends_at: number | null;
  acked_at: number | null;
  acked_by: string | null;
  assignee: string | null;
  resolved_at: number | null;
  resolved_by: string | null;
  /** How many times it was escalated to the next contact. */
  escalations: number;
  escalated_at: number | null;
  /** Notifications received for it (Grafana repeats firing alerts). */
  notifications: number;
  created_at: number;
  updated_at: number;
}

export interface IncidentEvent {
  id: number;
  at: number;
  actor: string | null;
  /**
   * opened | notified | acknowledged | assigned | comment | resolved | alert_resolved | escalated | recovery | split
   */
  type: string;
  text: string | null;
  details: Record<string, unknown> | null;
}

/** One alert instance of Grafana's webhook payload (the fields we use). */
export interface AlertInstance {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  fingerprint?: string;
}

/** A device an incident of a cause (gateway offline, site outage) stands for. */
export interface AffectedDevice {
  device: string;
  added_at: number;
  /** Its own incident, opened when the cause cleared and it was still down. */
  moved_to: number | null;
}

/** The causes one incident stands for many devices (the rule's `cause` label). */
export type SharedCause = 'gateway_offline' | 'site_outage';
/**
 * The devices down because of a cause now: behind gateway `key`, or at site `key` (the liveness tracker's
 * `affectedBy`).
 */
export type AffectedBy = (cause: SharedCause, key: string) => string[];

export class IncidentError extends Refusal {
  override name = 'IncidentError';
}

/** What a list of incidents is narrowed to; `unresolved`: open or acknowledged. */
export interface IncidentFilter {
  status?: IncidentStatus | 'unresolved';
  customer?: string;
  site?: string;
  device?: string;
  severity?: string;
  /** newest (the default): by id, descending; severity: most severe, then newest started. */
  order?: 'newest' | 'severity';
  /** The id of the previous page's last incident. */
  after?: number;
  limit: number;
}

type Row = Omit<Incident, 'labels'> & { labels: string; severity_rank?: number };

/** Incidents and their timeline (`incidents`, `incident_events`, inventory migration 4). */
export class Incidents {
  private readonly listeners = new Set<(incident: Incident, event: string) => void>();
  /** The list's statements, by filter: the operator pages ask the same few again and again. */
  private readonly statements: StatementCache;

  constructor(
    private readonly db: Database,
    private readonly lookup: (device: string) => DeviceRecord | undefined,
    private readonly now: () => number = Date.now,
    private readonly affectedBy?: AffectedBy,
  ) {
    this.statements = new StatementCache(db);
  }

  onChange(listener: (incident: Incident, event: string) => void): void {
    this.listeners.add(listener);
  }

  /**
   * Records one alert instance of a notification. The same instance (fingerprint and start) seen
   * again (Grafana repeats, retries, or several contact points) updates the one incident.
   */
  record(alert: AlertInstance): { incident: Incident; created: boolean } {
    const startsAt = Date.parse(alert.startsAt);
    // `alerts`: the field of the webhook's body the alert came in.
    if (!Number.isFinite(startsAt))
      throw new IncidentError('invalid', `startsAt '${alert.startsAt}' is not a date`, 'alerts');
    const labels = alert.labels ?? {};
    const fingerprint = alert.fingerprint || stableFingerprint(labels);
    const now = this.now();
    return this.db.transaction(() => {
      const existing = this.db
        .prepare('SELECT id FROM incidents WHERE fingerprint = ? AND starts_at = ?')
        .get(fingerprint, startsAt) as { id: number } | undefined;
      let id: number;
      if (!existing) {
        const device = labels.device ? this.lookup(labels.device) : undefined;
        const info = this.db
          .prepare(
            `INSERT INTO incidents (fingerprint, starts_at, rule, severity, summary, device, customer, site, labels, status, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)`,
          )
          .run(
            fingerprint,
            startsAt,
            labels.alertname ?? labels.rule ?? 'unknown',
            labels.severity ?? 'warning',
            alert.annotations?.summary ?? null,
            labels.device ?? null,
            labels.customer ?? device?.customer ?? null,
            labels.site ?? device?.site ?? null,
            JSON.stringify(labels),
            now,
            now,
          );
        id = Number(info.lastInsertRowid);
        this.event(id, null, 'opened', alert.annotations?.summary ?? null);
        if (labels.device) this.takeOver(id, labels.device);
      } else {
        id = existing.id;
        this.db
          .prepare('UPDATE incidents SET notifications = notifications + 1, updated_at = ? WHERE id = ?')
          .run(now, id);
      }
      if (alert.status === 'firing') this.addAffected(id, labels, now);
      if (alert.status === 'resolved') {
        const endsAt = alert.endsAt ? Date.parse(alert.endsAt) : now;
        const ended = Number.isFinite(endsAt) && endsAt > 0 ? endsAt : now;
        const changed = this.db
          .prepare('UPDATE incidents SET ends_at = ?, updated_at = ? WHERE id = ? AND ends_at IS NULL')
          .run(ended, now, id).changes;
        if (changed) {
          this.event(id, 'grafana', 'alert_resolved', null);
          // The alert cleared by itself: the incident is resolved unless someone already did.
          this.db
            .prepare(
              "UPDATE incidents SET status = 'resolved', resolved_at = ?, resolved_by = 'grafana' WHERE id = ? AND status != 'resolved'",
            )
            .run(ended, id);
        }
      }
      const incident = this.require(id);
      this.notify(incident, existing ? 'notified' : 'opened');
      return { incident, created: !existing };
    })();
  }

  /** The devices an incident of a cause stands for, in the order they were added. */
  affected(id: number): AffectedDevice[] {
    return this.db
      .prepare(
        'SELECT device, added_at, moved_to FROM incident_devices WHERE incident_id = ? ORDER BY added_at, device',
      )
      .all(id) as AffectedDevice[];
  }

  /** Every notification of a firing cause adds the devices down because of it since the last one. */
  private addAffected(id: number, labels: Record<string, string>, now: number): void {
    const cause = labels.cause;
    if (!this.affectedBy || (cause !== 'gateway_offline' && cause !== 'site_outage')) return;
    const key = cause === 'gateway_offline' ? labels.device : labels.site;
    if (!key) return;
    const insert = this.db.prepare(
      'INSERT OR IGNORE INTO incident_devices (incident_id, device, added_at) VALUES (?, ?, ?)',
    );
    for (const device of this.affectedBy(cause, key)) insert.run(id, device, now);
  }

  /**
   * A device's own incident opens: if a cause's incident that has cleared still lists it, the
   * device was left down when the cause came back, and its new incident takes over from there.
   */
  private takeOver(id: number, device: string): void {
    const parents = this.db
      .prepare(
        `SELECT d.incident_id AS parent FROM incident_devices d JOIN incidents i ON i.id = d.incident_id
         WHERE d.device = ? AND d.moved_to IS NULL AND i.ends_at IS NOT NULL`,
      )
      .all(device) as Array<{ parent: number }>;
    for (const { parent } of parents) {
      this.db
        .prepare('UPDATE incident_devices SET moved_to = ? WHERE incident_id = ? AND device = ?')
        .run(id, parent, device);
      this.event(parent, null, 'split', `${device} is still down: incident ${id}`, { device, incident: id });
      this.event(id, null, 'split', `was affected by incident ${parent}, whose cause cleared`, {
        incident: parent,
      });
    }
  }

  get(id: number): Incident | undefined {
    const row = this.db.prepare('SELECT * FROM incidents WHERE id = ?').get(id) as Row | undefined;
    return row && toIncident(row);
  }

  require(id: number): Incident {
    const incident = this.get(id);
    if (!incident) throw new IncidentError('not_found', `no incident ${id}`);
    return incident;
  }

  events(id: number): IncidentEvent[] {
    return (
      this.db
        .prepare('SELECT id, at, actor, type, text, details FROM incident_events WHERE incident_id = ? ORDER BY id')
        .all(id) as Array<Omit<IncidentEvent, 'details'> & { details: string | null }>
    ).map((e) => ({ ...e, details: e.details ? (JSON.parse(e.details) as Record<string, unknown>) : null }));
  }

  /**
   * A page of incidents, newest first (by id) or most severe first and then newest started
   * (`severity_rank`, inventory migration 10), ordered and paged in SQL. `after` is the last id
   * of the previous page, in either order: an incident never changes severity or start. Only
   * history retention deletes one (resolved, past `inventory.history_days`): paging on after that
   * one is refused (field `cursor`), to start again.
   */
  list(filter: IncidentFilter): { items: Incident[]; more: boolean } {
    const where: string[] = [];
    const values: unknown[] = [];
    // Written as the partial index incidents_unresolved_by_severity is, so that SQLite uses it.
    if (filter.status === 'unresolved') where.push("status != 'resolved'");
    else if (filter.status !== undefined) {
      where.push('status = ?');
      values.push(filter.status);
    }
    for (const key of ['customer', 'site', 'device', 'severity'] as const) {
      if (filter[key] !== undefined) {
        where.push(`${key} = ?`);
        values.push(filter[key]);
      }
    }
    if (filter.after !== undefined && filter.order === 'severity') {
      const last = this.statements
        .get('SELECT severity_rank AS rank, starts_at FROM incidents WHERE id = ?')
        .get(filter.after) as { rank: number; starts_at: number } | undefined;
      if (!last) throw new IncidentError('invalid', `no incident ${filter.after} to page after`, 'cursor');
      where.push('(severity_rank > ? OR (severity_rank = ? AND (starts_at < ? OR (starts_at = ? AND id < ?))))');
      values.push(last.rank, last.rank, last.starts_at, last.starts_at, filter.after);
    } else if (filter.after !== undefined) {
      where.push('id < ?');
      values.push(filter.after);
    }
    const order = filter.order === 'severity' ? 'severity_rank, starts_at DESC, id DESC' : 'id DESC';
    const rows = this.statements
      .get(`SELECT * FROM incidents${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY ${order} LIMIT ?`)
      .all(...values, filter.limit + 1) as Row[];
    return { items: rows.slice(0, filter.limit).map(toIncident), more: rows.length > filter.limit };
  }

  /** The open (not resolved) incident of a device, newest first: recovery attempts are noted on it. */
  openFor(device: string): Incident | undefined {
    const row = this.db
      .prepare("SELECT * FROM incidents WHERE device = ? AND status != 'resolved' ORDER BY id DESC LIMIT 1")
      .get(device) as Row | undefined;
    return row && toIncident(row);
  }

  acknowledge(id: number, actor: string): Incident {
    const incident = this.require(id);
    if (incident.status !== 'open')
      throw new IncidentError('conflict', `incident ${id} is ${incident.status}, not open`);
    return this.change(id, actor, 'acknowledged', null, "status = 'acknowledged', acked_at = @now, acked_by = @actor");
  }

  assign(id: number, actor: string, assignee: string): Incident {
    const incident = this.require(id);
    if (incident.status === 'resolved') throw new IncidentError('conflict', `incident ${id} is resolved`);
    return this.change(id, actor, 'assigned', assignee, 'assignee = @text');
  }

  comment(id: number, actor: string, text: string): Incident {
    this.require(id);
    return this.change(id, actor, 'comment', text, '');
  }

  /** Resolving also acknowledges an incident nobody acknowledged (MTTA counts until then). */
  resolve(id: number, actor: string, note: string | null = null): Incident {
    const incident = this.require(id);
    if (incident.status === 'resolved') throw new IncidentError('conflict', `incident ${id} is already resolved`);
    return this.change(
      id,
      actor,
      'resolved',
      note,
      "status = 'resolved', resolved_at = @now, resolved_by = @actor, acked_at = coalesce(acked_at, @now), acked_by = coalesce(acked_by, @actor)",
    );
  }

  /** Adds a timeline entry (escalations, recovery attempts) without changing the incident. */
  note(id: number, actor: string | null, type: string, text: string | null, details?: Record<string, unknown>): void {
    this.event(id, actor, type, text, details);
  }

  private change(id: number, actor: string, type: string, text: string | null, set: string): Incident {
    const now = this.now();
    this.db.transaction(() => {
      if (set)
        this.db.prepare(`UPDATE incidents SET ${set}, updated_at = @now WHERE id = @id`).run({ now, actor, text, id });
      this.event(id, actor, type, text);
    })();
    const incident = this.require(id);
    this.notify(incident, type);
    return incident;
  }

  private event(
    id: number,
    actor: string | null,
    type: string,
    text: string | null,
    details?: Record<string, unknown>,
  ): void {
    this.db
      .prepare('INSERT INTO incident_events (incident_id, at, actor, type, text, details) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, this.now(), actor, type, text, details ? JSON.stringify(details) : null);
  }

  private notify(incident: Incident, event: string): void {
    for (const l of this.listeners) l(incident, event);
  }
}

/** Without Grafana's fingerprint: the sorted labels name the alert instance. */
function stableFingerprint(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function toIncident({ severity_rank: _rank, ...row }: Row): Incident {
  return { ...row, labels: JSON.parse(row.labels) as Record<string, string> };
}
