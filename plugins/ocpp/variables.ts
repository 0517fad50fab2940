import type Database from 'better-sqlite3';

/** A 2.0.1 ComponentType and VariableType as a charger sends them. */
export interface OcppComponent {
  name: string;
  instance?: string;
  evse?: { id: number; connectorId?: number };
}
export interface OcppVariable {
  name: string;
  instance?: string;
}

interface ReportDatum {
  component: OcppComponent;
  variable: OcppVariable;
  variableAttribute: Array<{
    type?: string;
    value?: string;
    mutability?: string;
    persistent?: boolean;
    constant?: boolean;
  }>;
  variableCharacteristics?: Record<string, unknown>;
}

/** Where a variable is, as stored: absent instances are '' and absent EVSE / connector 0 (ids start at 1). */
export function placeOf(c: OcppComponent, v: OcppVariable): [string, string, number, number, string, string] {
  return [c.name, c.instance ?? '', c.evse?.id ?? 0, c.evse?.connectorId ?? 0, v.name, v.instance ?? ''];
}

export interface VariableRow {
  component: string;
  component_instance: string | null;
  evse: number | null;
  connector: number | null;
  variable: string;
  variable_instance: string | null;
  attribute: string;
  value: string | null;
  mutability: string | null;
  persistent: boolean | null;
  constant: boolean | null;
  characteristics: Record<string, unknown> | null;
  updated_at: number;
}

/** Component / variable filters of a read: names compare case-insensitively, as OCPP says. */
export interface PlaceFilter {
  component?: string;
  variable?: string;
}

export function placeWhere(f: PlaceFilter): { sql: string; args: string[] } {
  const given = (['component', 'variable'] as const).filter((k) => f[k] !== undefined);
  return {
    sql: given.map((k) => ` AND ${k} = ? COLLATE NOCASE`).join(''),
    args: given.map((k) => f[k]!),
  };
}

/** The stored place back in the API's words: '' and 0 are "none". */
export function placeOut<T extends Record<string, unknown>>(r: T): T {
  return {
    ...r,
    component_instance: r.component_instance || null,
    evse: r.evse || null,
    connector: r.connector || null,
    variable_instance: r.variable_instance || null,
  };
}

/**
 * What we know of each 2.0.1 charger's device model (`ocpp_device_variables`, migration 4): every
 * attribute (Actual, Target, MinSet, MaxSet) of every variable it reported (NotifyReport) with its
 * mutability and characteristics, and the values GetVariables answered.
 */
export class Variables {
  private readonly upsert: Database.Statement;
  private readonly value: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.upsert = db.prepare(`INSERT INTO ocpp_device_variables (charger, component, component_instance, evse,
      connector, variable, variable_instance, attribute, value, mutability, persistent, constant, characteristics,
      updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
        mutability = coalesce(excluded.mutability, mutability), persistent = coalesce(excluded.persistent, persistent),
        constant = coalesce(excluded.constant, constant),
        characteristics = coalesce(excluded.characteristics, characteristics)`);
    this.value = db.prepare(`SELECT value FROM ocpp_device_variables WHERE charger = ? AND component = ? COLLATE NOCASE
      AND component_instance = '' AND evse = 0 AND connector = 0
      AND variable = ? COLLATE NOCASE AND variable_instance = ? COLLATE NOCASE AND attribute = 'Actual'`);
  }

  /** The report data of a NotifyReport (all its parts), in one transaction. */
  record(charger: string, data: ReportDatum[], now: number): void {
    const bool = (b: boolean | undefined) => (b === undefined ? null : Number(b));
    this.db.transaction(() => {
      for (const d of data) {
        const characteristics = d.variableCharacteristics ? JSON.stringify(d.variableCharacteristics) : null;
        for (const a of d.variableAttribute)
          this.upsert.run(
            charger,
            ...placeOf(d.component, d.variable),
            a.type ?? 'Actual',
            a.value ?? null,
            a.mutability ?? null,
            bool(a.persistent),
            bool(a.constant),
            characteristics,
            now,
          );
      }
    })();
  }

  /** An Actual value a charger told us (GetVariables, or a SetVariables it accepted). */
  recordActual(charger: string, component: OcppComponent, variable: OcppVariable, value: string, now: number): void {
    this.upsert.run(charger, ...placeOf(component, variable), 'Actual', value, null, null, null, null, now);
  }

  /** The Actual value of a variable of the charger's own (EVSE-less) component, if we know it. */
  actual(charger: string, component: string, variable: string, instance = ''): string | undefined {
    return (
      (this.value.get(charger, component, variable, instance) as { value: string | null } | undefined)?.value ??
      undefined
    );
  }

  of(charger: string, filter: PlaceFilter = {}): VariableRow[] {
    const where = placeWhere(filter);
    const rows = this.db
      .prepare(
        `SELECT component, component_instance, evse, connector, variable, variable_instance, attribute, value,
          mutability, persistent, constant, characteristics, updated_at FROM ocpp_device_variables
          WHERE charger = ?${where.sql}
          ORDER BY component, component_instance, evse, connector, variable, variable_instance, attribute`,
      )
      .all(charger, ...where.args) as Array<Record<string, unknown>>;
    const bool = (b: unknown) => (b === null ? null : b === 1);
    return rows.map((r) =>
      placeOut({
        ...r,
        persistent: bool(r.persistent),
        constant: bool(r.constant),
        characteristics: r.characteristics === null ? null : (JSON.parse(r.characteristics as string) as object),
      }),
    ) as unknown as VariableRow[];
  }
}
