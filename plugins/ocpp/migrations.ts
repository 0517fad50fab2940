import type Database from 'better-sqlite3';

/**
 * The plugin's own schema migrations in the inventory database, numbered, applied in order at
 * start, each in its own transaction and recorded in `ocpp_schema_migrations` (the inventory's
 * own migrations are the core's, in collector/inventory/migrations.ts). Never edit one that has
 * shipped: add the next. Tables that predate this list create themselves (CREATE IF NOT EXISTS).
 */
interface Migration {
  version: number;
  name: string;
  sql: string;
}

const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'local authorization lists as pushed to each charger',
    sql: `CREATE TABLE ocpp_local_lists (
      charger TEXT PRIMARY KEY, version INTEGER NOT NULL, entries TEXT NOT NULL, updated_at INTEGER NOT NULL);`,
  },
  {
    version: 2,
    name: 'reservations',
    sql: `CREATE TABLE ocpp_reservations (
      id INTEGER PRIMARY KEY, charger TEXT NOT NULL, connector INTEGER NOT NULL, id_tag TEXT NOT NULL,
      parent_id_tag TEXT, expires_at INTEGER NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('requested', 'active', 'rejected', 'cancelled', 'expired', 'used')),
      reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE INDEX ocpp_reservations_charger ON ocpp_reservations (charger, state, connector);
      CREATE INDEX ocpp_reservations_expiry ON ocpp_reservations (state, expires_at);`,
  },
  {
    version: 3,
    name: 'energy register readings per session, for prices that change during a session',
    sql: `CREATE TABLE ocpp_session_readings (
      session INTEGER NOT NULL, at INTEGER NOT NULL, wh REAL NOT NULL, PRIMARY KEY (session, at)) WITHOUT ROWID;`,
  },
  {
    version: 4,
    name: 'the 2.0.1 device model: every reported attribute, monitors, and report parts awaiting the rest',
    // ocpp_variables (latest Actual-ish value per joined component name) predates this list.
    sql: `CREATE TABLE ocpp_device_variables (
      charger TEXT NOT NULL, component TEXT NOT NULL, component_instance TEXT NOT NULL DEFAULT '',
      evse INTEGER NOT NULL DEFAULT 0, connector INTEGER NOT NULL DEFAULT 0,
      variable TEXT NOT NULL, variable_instance TEXT NOT NULL DEFAULT '', attribute TEXT NOT NULL,
      value TEXT, mutability TEXT, persistent INTEGER, constant INTEGER, characteristics TEXT,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (charger, component, component_instance, evse, connector, variable, variable_instance, attribute)
    ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ocpp_variables (
        charger TEXT NOT NULL, component TEXT NOT NULL, variable TEXT NOT NULL, attribute TEXT NOT NULL,
        value TEXT, updated_at INTEGER NOT NULL, PRIMARY KEY (charger, component, variable, attribute)) WITHOUT ROWID;
      INSERT INTO ocpp_device_variables (charger, component, variable, attribute, value, updated_at)
        SELECT charger, component, variable, attribute, value, updated_at FROM ocpp_variables;
      DROP TABLE ocpp_variables;
      CREATE TABLE ocpp_monitors (
        charger TEXT NOT NULL, id INTEGER NOT NULL, component TEXT NOT NULL, component_instance TEXT NOT NULL DEFAULT '',
        evse INTEGER NOT NULL DEFAULT 0, connector INTEGER NOT NULL DEFAULT 0,
        variable TEXT NOT NULL, variable_instance TEXT NOT NULL DEFAULT '',
        type TEXT NOT NULL, value REAL NOT NULL, severity INTEGER NOT NULL, transaction_only INTEGER NOT NULL,
        source TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (charger, id)) WITHOUT ROWID;
      CREATE TABLE ocpp_report_parts (
        charger TEXT NOT NULL, kind TEXT NOT NULL, request_id INTEGER NOT NULL, seq_no INTEGER NOT NULL,
        last INTEGER NOT NULL, data TEXT NOT NULL, received_at INTEGER NOT NULL,
        PRIMARY KEY (charger, kind, request_id, seq_no)) WITHOUT ROWID;`,
  },
  {
    version: 5,
    name: 'display messages each 2.0.1 charger shows',
    sql: `CREATE TABLE ocpp_display_messages (
      charger TEXT NOT NULL, id INTEGER NOT NULL, priority TEXT NOT NULL, state TEXT, format TEXT NOT NULL,
      language TEXT, content TEXT NOT NULL, start_at TEXT, end_at TEXT, transaction_id TEXT, evse INTEGER,
      source TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (charger, id)) WITHOUT ROWID;`,
  },
  {
    version: 6,
    name: 'customer information reported by 2.0.1 chargers, in parts',
    sql: `CREATE TABLE ocpp_customer_information (
      charger TEXT NOT NULL, request_id INTEGER NOT NULL, seq_no INTEGER NOT NULL, data TEXT NOT NULL,
      tbc INTEGER NOT NULL, generated_at TEXT NOT NULL, received_at INTEGER NOT NULL,
      PRIMARY KEY (charger, request_id, seq_no)) WITHOUT ROWID;`,
  },
];

export function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ocpp_schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const applied = new Set(db.prepare('SELECT version FROM ocpp_schema_migrations').pluck().all() as number[]);
  const record = db.prepare('INSERT INTO ocpp_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    })();
  }
}
