import type { Database } from 'better-sqlite3';

/**
 * Numbered schema migrations, applied in order at open, each in its own transaction and
 * recorded in `schema_migrations`. Never edit a migration that has shipped: add the next one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'customers, sites, devices',
    sql: `
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );

      CREATE TABLE customers (
        id           TEXT PRIMARY KEY,
        company      TEXT NOT NULL,
        contact_name TEXT,
        email        TEXT,
        phone        TEXT,
        contract     TEXT NOT NULL CHECK (contract IN ('basic', 'standard', 'premium')),
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
      );

      CREATE TABLE sites (
        id          TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        address     TEXT,
        timezone    TEXT NOT NULL,
        latitude    REAL,
        longitude   REAL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
      CREATE INDEX sites_customer ON sites (customer_id, id);

      -- seq is the rowid: FTS and label rows point at it; id is the device's own identity
      -- (serial number, OCPP identity) and never changes.
      CREATE TABLE devices (
        seq          INTEGER PRIMARY KEY,
        id           TEXT NOT NULL UNIQUE,
        kind         TEXT NOT NULL,
        model        TEXT,
        customer_id  TEXT REFERENCES customers(id) ON DELETE RESTRICT,
        site_id      TEXT REFERENCES sites(id) ON DELETE RESTRICT,
        gateway      TEXT,
        firmware     TEXT,
        installed_on TEXT,
        labels       TEXT NOT NULL DEFAULT '{}',
        lifecycle    TEXT NOT NULL CHECK (lifecycle IN ('pending', 'active', 'retired')),
        state        TEXT NOT NULL DEFAULT 'unknown'
                     CHECK (state IN ('unknown', 'online', 'offline', 'error', 'maintenance')),
        first_seen   INTEGER,
        last_seen    INTEGER,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
      );
      -- One index per list filter, each ending in id so that the default sort needs no sorting.
      CREATE INDEX devices_kind_state ON devices (kind, state, id);
      CREATE INDEX devices_state      ON devices (state, id);
      CREATE INDEX devices_customer   ON devices (customer_id, id);
      CREATE INDEX devices_site       ON devices (site_id, id);
      CREATE INDEX devices_model      ON devices (model, id);
      CREATE INDEX devices_firmware   ON devices (firmware, id);
      CREATE INDEX devices_lifecycle  ON devices (lifecycle, id);
      CREATE INDEX devices_gateway    ON devices (gateway, id);
      CREATE INDEX devices_last_seen  ON devices (last_seen, id);

      -- labels is the JSON the API returns; device_labels is its index for label filters.
      -- Both are written together by the devices repository only.
      CREATE TABLE device_labels (
        device_seq INTEGER NOT NULL REFERENCES devices(seq) ON DELETE CASCADE,
        key        TEXT NOT NULL,
        value      TEXT NOT NULL,
        PRIMARY KEY (device_seq, key)
      ) WITHOUT ROWID;
      CREATE INDEX device_labels_kv ON device_labels (key, value, device_seq);
    `,
  },
  {
    version: 2,
    name: 'credentials, api keys, audit',
    sql: `
      CREATE TABLE credentials (
        id         TEXT PRIMARY KEY,
        device_id  TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        type       TEXT NOT NULL,
        -- sha256: hash of a random secret; sealed: AES-256-GCM ciphertext (HMAC keys the
        -- server must recompute signatures with).
        scheme     TEXT NOT NULL CHECK (scheme IN ('sha256', 'sealed')),
        material   BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        rotated_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX credentials_device ON credentials (device_id, type);

      CREATE TABLE api_keys (
        id           TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        role         TEXT NOT NULL CHECK (role IN ('viewer', 'support', 'operator', 'admin')),
        -- sha256: our generated keys (256 random bits); scrypt: operator-chosen values
        -- (FLEETPULSE_ADMIN_KEY), salted.
        scheme       TEXT NOT NULL CHECK (scheme IN ('sha256', 'scrypt')),
        hash         BLOB NOT NULL,
        salt         BLOB,
        created_at   INTEGER NOT NULL,
        created_by   TEXT,
        last_used_at INTEGER,
        revoked_at   INTEGER
      );

      CREATE TABLE audit (
        id         INTEGER PRIMARY KEY,
        at         INTEGER NOT NULL,
        actor      TEXT,
        actor_name TEXT,
        role       TEXT,
        action     TEXT NOT NULL,
        target     TEXT,
        method     TEXT,
        path       TEXT,
        status     INTEGER,
        result     TEXT NOT NULL CHECK (result IN ('ok', 'denied', 'failed')),
        source     TEXT,
        details    TEXT
      );
      CREATE INDEX audit_at     ON audit (at);
      CREATE INDEX audit_actor  ON audit (actor, at);
      CREATE INDEX audit_target ON audit (target, at);
    `,
  },
  {
    version: 3,
    name: 'device text search',
    sql: `
      -- Substring search on device id, site name and customer name. Trigram FTS answers
      -- '%abc%' from an index instead of scanning every device. The devices repository writes
      -- a device's row when it inserts or moves the device (an FTS insert from a trigger costs
      -- 7x more: a bulk import of 10,000 devices went from 0.25 s to 1 s); the rarer deletes
      -- and renames are kept in step by triggers.
      CREATE VIRTUAL TABLE device_search USING fts5(id, site, customer, tokenize = 'trigram');

      CREATE TRIGGER devices_search_delete AFTER DELETE ON devices BEGIN
        DELETE FROM device_search WHERE rowid = old.seq;
      END;
      CREATE TRIGGER sites_search_rename AFTER UPDATE OF name ON sites BEGIN
        UPDATE device_search SET site = new.name
        WHERE rowid IN (SELECT seq FROM devices WHERE site_id = new.id);
      END;
      CREATE TRIGGER customers_search_rename AFTER UPDATE OF company ON customers BEGIN
        UPDATE device_search SET customer = new.company
        WHERE rowid IN (SELECT seq FROM devices WHERE customer_id = new.id);
      END;

      INSERT INTO device_search (rowid, id, site, customer)
        SELECT d.seq, d.id, coalesce(s.name, ''), coalesce(c.company, '')
        FROM devices d
        LEFT JOIN sites s ON s.id = d.site_id
        LEFT JOIN customers c ON c.id = d.customer_id;
    `,
  },
  {
    version: 4,
    name: 'operations: durable commands, maintenance windows, incidents',
    sql: `
      -- One row per command; status moves queued -> sent -> one terminal state (see
      -- collector/commands/command-queue.ts). A row is marked sent (committed) before the device
      -- gets the command, so a restart can never send it twice.
      CREATE TABLE commands (
        id          TEXT PRIMARY KEY,
        device      TEXT NOT NULL,
        kind        TEXT NOT NULL,
        name        TEXT NOT NULL,
        params      TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'succeeded', 'failed', 'rejected',
                      'expired', 'timed_out', 'cancelled')),
        source      TEXT NOT NULL,
        created_by  TEXT,
        timeout_s   REAL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        sent_at     INTEGER,
        ended_at    INTEGER,
        result      TEXT,
        error       TEXT
      );
      CREATE INDEX commands_status ON commands (status, created_at);
      CREATE INDEX commands_device ON commands (device, created_at);

      CREATE TABLE maintenance_windows (
        id            TEXT PRIMARY KEY,
        scope         TEXT NOT NULL CHECK (scope IN ('device', 'site', 'customer')),
        target        TEXT NOT NULL,
        recurrence    TEXT NOT NULL CHECK (recurrence IN ('once', 'daily', 'weekly', 'monthly')),
        -- once: epoch ms; recurring: local wall-clock rule in the site's time zone.
        starts_at     INTEGER,
        ends_at       INTEGER,
        start_time    TEXT,
        duration_min  INTEGER,
        weekdays      TEXT,
        week_of_month INTEGER,
        timezone      TEXT,
        valid_from    INTEGER,
        valid_until   INTEGER,
        reason        TEXT,
        created_by    TEXT,
        created_at    INTEGER NOT NULL
      );
      CREATE INDEX maintenance_target ON maintenance_windows (scope, target);

      -- One incident per alert instance: Grafana's fingerprint plus the instance's start time
      -- (the same alert firing again after it resolved is a new incident).
      CREATE TABLE incidents (
        id           INTEGER PRIMARY KEY,
        fingerprint  TEXT NOT NULL,
        starts_at    INTEGER NOT NULL,
        rule         TEXT NOT NULL,
        severity     TEXT NOT NULL,
        summary      TEXT,
        device       TEXT,
        customer     TEXT,
        site         TEXT,
        labels       TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
        ends_at      INTEGER,
        acked_at     INTEGER,
        acked_by     TEXT,
        assignee     TEXT,
        resolved_at  INTEGER,
        resolved_by  TEXT,
        escalations  INTEGER NOT NULL DEFAULT 0,
        escalated_at INTEGER,
        notifications INTEGER NOT NULL DEFAULT 1,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        UNIQUE (fingerprint, starts_at)
      );
      CREATE INDEX incidents_status ON incidents (status, created_at);
      CREATE INDEX incidents_device ON incidents (device, status);

      CREATE TABLE incident_events (
        id          INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
        at          INTEGER NOT NULL,
        actor       TEXT,
        type        TEXT NOT NULL,
        text        TEXT,
        details     TEXT
      );
      CREATE INDEX incident_events_incident ON incident_events (incident_id, id);
    `,
  },
  {
    version: 5,
    name: 'operations: firmware catalogue, rollouts, recovery attempts',
    sql: `
      CREATE TABLE firmware (
        id         TEXT PRIMARY KEY,
        model      TEXT NOT NULL,
        version    TEXT NOT NULL,
        url        TEXT NOT NULL,
        sha256     TEXT NOT NULL,
        notes      TEXT,
        created_at INTEGER NOT NULL,
        UNIQUE (model, version)
      );

      CREATE TABLE rollouts (
        id                TEXT PRIMARY KEY,
        firmware_id       TEXT NOT NULL REFERENCES firmware(id),
        selector          TEXT NOT NULL,
        status            TEXT NOT NULL CHECK (status IN ('running', 'paused', 'halted', 'aborted', 'completed')),
        wave_size         INTEGER NOT NULL,
        wave_interval_s   REAL NOT NULL,
        failure_threshold REAL NOT NULL,
        confirm_timeout_s REAL NOT NULL,
        retry_offline_s   REAL NOT NULL,
        current_wave      INTEGER NOT NULL DEFAULT 0,
        wave_started_at   INTEGER,
        halt_reason       TEXT,
        created_by        TEXT,
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL,
        ended_at          INTEGER
      );

      CREATE TABLE rollout_devices (
        rollout_id  TEXT NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,
        device      TEXT NOT NULL,
        wave        INTEGER NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'confirming', 'done', 'failed', 'skipped')),
        command_id  TEXT,
        attempts    INTEGER NOT NULL DEFAULT 0,
        next_try_at INTEGER,
        sent_at     INTEGER,
        error       TEXT,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (rollout_id, device)
      ) WITHOUT ROWID;
      CREATE INDEX rollout_devices_wave ON rollout_devices (rollout_id, wave, state);

      CREATE TABLE recovery_attempts (
        id         INTEGER PRIMARY KEY,
        rule       TEXT NOT NULL,
        device     TEXT NOT NULL,
        at         INTEGER NOT NULL,
        command_id TEXT
      );
      CREATE INDEX recovery_attempts_device ON recovery_attempts (device, rule, at);
    `,
  },
  {
    version: 6,
    name: 'history pruning indexes',
    sql: `
      -- inventory.history_days deletes ended history oldest first, 500 rows at a time: each batch
      -- must find its rows from an index, not scan the table while holding the write lock.
      CREATE INDEX commands_ended ON commands (ended_at) WHERE ended_at IS NOT NULL;
      CREATE INDEX incidents_resolved ON incidents (resolved_at) WHERE status = 'resolved';
      CREATE INDEX rollouts_ended ON rollouts (ended_at) WHERE ended_at IS NOT NULL;
      CREATE INDEX recovery_attempts_at ON recovery_attempts (at);
    `,
  },
  {
    version: 7,
    name: 'devices: what a device reported about itself (boot data for the approver)',
    sql: `
      CREATE TABLE device_reports (
        device      TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        reported    TEXT NOT NULL,
        reported_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 8,
    name: 'incidents: the devices affected by an incident of a cause (gateway offline, site outage)',
    sql: `
      CREATE TABLE incident_devices (
        incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
        device      TEXT NOT NULL,
        added_at    INTEGER NOT NULL,
        -- The device's own incident, once the cause cleared and it was still down.
        moved_to    INTEGER REFERENCES incidents(id) ON DELETE SET NULL,
        PRIMARY KEY (incident_id, device)
      ) WITHOUT ROWID;
      CREATE INDEX incident_devices_device ON incident_devices (device) WHERE moved_to IS NULL;
    `,
  },
  {
    version: 9,
    name: 'device text search by name',
    sql: `
      -- A search for a site's or a customer's name matched each of their devices' rows in
      -- device_search: a name shared by 1,000 devices was 1,000 index hits to collect. Names are
      -- few (2,000 sites, 200 customers at 20,000 devices), so a search matches the names and
      -- the ids here, and takes the devices of the matching sites and customers from the device
      -- cache (collector/inventory/device-search.ts). Same trigram tokenizer as device_search:
      -- the same substrings match. device_search stays for walking devices in page order.
      -- Keyed by site and customer id (renames and deletes are rare; a rowid may change in VACUUM).
      CREATE VIRTUAL TABLE site_name_search USING fts5(name, site UNINDEXED, tokenize = 'trigram');
      CREATE VIRTUAL TABLE customer_name_search USING fts5(company, customer UNINDEXED, tokenize = 'trigram');
      -- rowid = devices.seq; written by the devices repository on insert (ids never change).
      CREATE VIRTUAL TABLE device_id_search USING fts5(id, tokenize = 'trigram');

      CREATE TRIGGER sites_name_search_insert AFTER INSERT ON sites BEGIN
        INSERT INTO site_name_search (name, site) VALUES (new.name, new.id);
      END;
      CREATE TRIGGER sites_name_search_rename AFTER UPDATE OF name ON sites BEGIN
        UPDATE site_name_search SET name = new.name WHERE site = new.id;
      END;
      CREATE TRIGGER sites_name_search_delete AFTER DELETE ON sites BEGIN
        DELETE FROM site_name_search WHERE site = old.id;
      END;
      CREATE TRIGGER customers_name_search_insert AFTER INSERT ON customers BEGIN
        INSERT INTO customer_name_search (company, customer) VALUES (new.company, new.id);
      END;
      CREATE TRIGGER customers_name_search_rename AFTER UPDATE OF company ON customers BEGIN
        UPDATE customer_name_search SET company = new.company WHERE customer = new.id;
      END;
      CREATE TRIGGER customers_name_search_delete AFTER DELETE ON customers BEGIN
        DELETE FROM customer_name_search WHERE customer = old.id;
      END;
      CREATE TRIGGER devices_id_search_delete AFTER DELETE ON devices BEGIN
        DELETE FROM device_id_search WHERE rowid = old.seq;
      END;

      INSERT INTO site_name_search (name, site) SELECT name, id FROM sites;
      INSERT INTO customer_name_search (company, customer) SELECT company, id FROM customers;
      INSERT INTO device_id_search (rowid, id) SELECT seq, id FROM devices;
    `,
  },
  {
    version: 10,
    name: 'incidents: most severe, then newest, first',
    sql: `
      -- The operator list reads a page in this order; sorting in JS read every open incident
      -- on every request. A severity no rule declares ranks last. Virtual: nothing to backfill.
      ALTER TABLE incidents ADD COLUMN severity_rank INTEGER GENERATED ALWAYS AS (
        CASE severity WHEN 'critical' THEN 0 WHEN 'error' THEN 1 WHEN 'warning' THEN 2 WHEN 'info' THEN 3 ELSE 4 END
      ) VIRTUAL;
      CREATE INDEX incidents_by_severity ON incidents (status, severity_rank, starts_at DESC, id DESC);
      -- "Unresolved" (open or acknowledged) in order without a sort: the query repeats this WHERE.
      CREATE INDEX incidents_unresolved_by_severity ON incidents (severity_rank, starts_at DESC, id DESC)
        WHERE status != 'resolved';
    `,
  },
  {
    version: 11,
    name: 'uptime reports: stored per month and zone',
    sql: `
      -- What the monthly uptime report sums from InfluxDB (20,000 devices' hourly rollups: seconds
      -- a request), kept per month and zone. Names, contracts and incidents are read when shown.
      CREATE TABLE uptime_months (
        month       TEXT NOT NULL,
        timezone    TEXT NOT NULL,
        computed_at INTEGER NOT NULL,
        PRIMARY KEY (month, timezone)
      ) WITHOUT ROWID;
      CREATE TABLE uptime_sites (
        month         TEXT NOT NULL,
        timezone      TEXT NOT NULL,
        customer      TEXT NOT NULL,
        site          TEXT NOT NULL,
        devices       INTEGER NOT NULL,
        online_s      INTEGER NOT NULL,
        error_s       INTEGER NOT NULL,
        offline_s     INTEGER NOT NULL,
        maintenance_s INTEGER NOT NULL,
        PRIMARY KEY (month, timezone, customer, site),
        FOREIGN KEY (month, timezone) REFERENCES uptime_months (month, timezone) ON DELETE CASCADE
      ) WITHOUT ROWID;
      -- Only devices that were down: the only ones a worst-devices list can name.
      CREATE TABLE uptime_down_devices (
        month         TEXT NOT NULL,
        timezone      TEXT NOT NULL,
        customer      TEXT NOT NULL,
        site          TEXT NOT NULL,
        device        TEXT NOT NULL,
        online_s      INTEGER NOT NULL,
        error_s       INTEGER NOT NULL,
        offline_s     INTEGER NOT NULL,
        maintenance_s INTEGER NOT NULL,
        down_s        INTEGER NOT NULL,
        uptime_pct    REAL NOT NULL,
        PRIMARY KEY (month, timezone, customer, site, device),
        FOREIGN KEY (month, timezone) REFERENCES uptime_months (month, timezone) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE INDEX uptime_worst ON uptime_down_devices
        (month, timezone, uptime_pct, down_s DESC, customer, site, device);
    `,
  },
];

/** Applies every migration newer than the database; returns the resulting version. */
export function migrate(db: Database, list: readonly Migration[] = migrations): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const current = currentVersion(db);
  const newest = list.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > newest) {
    throw new Error(
      `inventory schema is version ${current}, newer than this fleetpulse knows (${newest}): ` +
        'run the fleetpulse version that wrote it, or restore a backup',
    );
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of [...list].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    })();
  }
  return currentVersion(db);
}

export function currentVersion(db: Database): number {
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}
