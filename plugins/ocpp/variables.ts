import type Database from 'better-sqlite3';

interface ReportDatum {
  component: { name: string; instance?: string; evse?: { id: number; connectorId?: number } };
  variable: { name: string; instance?: string };
  variableAttribute: Array<{ type?: string; value?: string }>;
}

/**
 * The latest value of each device-model variable a 2.0.1 charger reported (NotifyReport, the
 * answer to get_config without keys), so operators can see a charger's configuration.
 */
export class Variables {
  private readonly upsert: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS ocpp_variables (
      charger TEXT NOT NULL, component TEXT NOT NULL, variable TEXT NOT NULL, attribute TEXT NOT NULL,
      value TEXT, updated_at INTEGER NOT NULL,
      PRIMARY KEY (charger, component, variable, attribute)) WITHOUT ROWID`);
    this.upsert = db.prepare(`INSERT INTO ocpp_variables (charger, component, variable, attribute, value, updated_at)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);
  }

  record(charger: string, data: ReportDatum[], now: number): void {
    this.db.transaction(() => {
      for (const d of data) {
        const component = [d.component.name, d.component.instance, d.component.evse?.id, d.component.evse?.connectorId]
          .filter((x) => x !== undefined)
          .join('.');
        const variable = d.variable.instance ? `${d.variable.name}.${d.variable.instance}` : d.variable.name;
        for (const a of d.variableAttribute)
          this.upsert.run(charger, component, variable, a.type ?? 'Actual', a.value ?? null, now);
      }
    })();
  }

  of(
    charger: string,
  ): Array<{ component: string; variable: string; attribute: string; value: string | null; updated_at: number }> {
    return this.db
      .prepare(
        'SELECT component, variable, attribute, value, updated_at FROM ocpp_variables WHERE charger = ? ORDER BY component, variable, attribute',
      )
      .all(charger) as never;
  }
}
