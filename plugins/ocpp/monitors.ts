import type Database from 'better-sqlite3';
import { placeOf, placeOut, placeWhere, type OcppComponent, type OcppVariable, type PlaceFilter } from './variables.ts';

/** A 2.0.1 VariableMonitoringType as a charger reports it (NotifyMonitoringReport, SetVariableMonitoring). */
export interface OcppMonitor {
  id: number;
  type: string;
  value: number;
  severity: number;
  transaction?: boolean;
}

export interface MonitorRow {
  id: number;
  component: string;
  component_instance: string | null;
  evse: number | null;
  connector: number | null;
  variable: string;
  variable_instance: string | null;
  type: string;
  value: number;
  severity: number;
  transaction: boolean;
  /** `set` (accepted by the charger for our set_variable_monitoring) or `report` (NotifyMonitoringReport). */
  source: string;
  updated_at: number;
}

/**
 * The monitors each 2.0.1 charger runs (`ocpp_monitors`, migration 4), by the charger's monitor
 * id: the severity a NotifyEvent carries is its monitor's (EventData has none of its own).
 */
export class Monitors {
  private readonly upsert: Database.Statement;
  private readonly drop: Database.Statement;
  private readonly severity: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.upsert = db.prepare(`INSERT INTO ocpp_monitors (charger, id, component, component_instance, evse, connector,
      variable, variable_instance, type, value, severity, transaction_only, source, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET component = excluded.component,
      component_instance = excluded.component_instance, evse = excluded.evse, connector = excluded.connector,
      variable = excluded.variable, variable_instance = excluded.variable_instance, type = excluded.type,
      value = excluded.value, severity = excluded.severity, transaction_only = excluded.transaction_only,
      source = excluded.source, updated_at = excluded.updated_at`);
    this.drop = db.prepare('DELETE FROM ocpp_monitors WHERE charger = ? AND id = ?');
    this.severity = db.prepare('SELECT severity FROM ocpp_monitors WHERE charger = ? AND id = ?').pluck();
  }

  put(
    charger: string,
    component: OcppComponent,
    variable: OcppVariable,
    monitors: OcppMonitor[],
    source: 'set' | 'report',
    now: number,
  ): void {
    this.db.transaction(() => {
      for (const m of monitors)
        this.upsert.run(
          charger,
          m.id,
          ...placeOf(component, variable),
          m.type,
          m.value,
          m.severity,
          Number(m.transaction ?? false),
          source,
          now,
        );
    })();
  }

  remove(charger: string, ids: number[]): void {
    this.db.transaction(() => ids.forEach((id) => this.drop.run(charger, id)))();
  }

  /** After SetMonitoringBase the charger runs another set: what we held is no longer known. */
  forget(charger: string): void {
    this.db.prepare('DELETE FROM ocpp_monitors WHERE charger = ?').run(charger);
  }

  severityOf(charger: string, id: number): number | undefined {
    return this.severity.get(charger, id) as number | undefined;
  }

  of(charger: string, filter: PlaceFilter = {}): MonitorRow[] {
    const where = placeWhere(filter);
    const rows = this.db
      .prepare(
        `SELECT id, component, component_instance, evse, connector, variable, variable_instance, type, value, severity,
          transaction_only, source, updated_at FROM ocpp_monitors WHERE charger = ?${where.sql} ORDER BY id`,
      )
      .all(charger, ...where.args) as Array<Record<string, unknown> & { transaction_only: number }>;
    return rows.map(({ transaction_only, ...r }) =>
      placeOut({ ...r, transaction: transaction_only === 1 }),
    ) as unknown as MonitorRow[];
  }
}
