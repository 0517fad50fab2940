import type Database from 'better-sqlite3';
import type { SessionCost } from './tariff.ts';

/**
 * Charging sessions and the answers given to the messages that build them, in the inventory's
 * SQLite file. Every change of a session and the answer to the message that caused it commit in
 * one transaction: a resent message (after a lost reply) finds its answer and changes nothing.
 */

/** What the session store asks of prices. */
export interface SessionPricing {
  observe(row: SessionRow, at: number, wh: number): void;
  /** The cost of a session up to its stop, or (running) up to `until`; undefined without a start. */
  cost(row: SessionRow, until?: number): SessionCost | undefined;
}

export interface SessionRow {
  id: number;
  charger: string;
  transaction_id: string;
  protocol: string;
  connector: number | null;
  id_tag: string | null;
  id_tag_status: string | null;
  site: string | null;
  customer: string | null;
  start_time: number | null;
  stop_time: number | null;
  meter_start_wh: number | null;
  meter_start_at: number | null;
  meter_stop_wh: number | null;
  meter_stop_at: number | null;
  stop_reason: string | null;
  energy_wh: number | null;
  duration_s: number | null;
  cost_net: number | null;
  cost: number | null;
  currency: string | null;
  /** The tariff that priced it (null until it is priced). */
  tariff: string | null;
  state: 'active' | 'ended';
  complete: number;
  /** Receive time of the transaction's last message: what `session_timeout_h` counts from. */
  updated_at: number;
  /** Since when the connector reports Available while this session is active (receive time). */
  available_since: number | null;
  /** The time the summary point was first written at: corrections overwrite that point. */
  summary_at: number | null;
}

/** Why we closed a session the charger never stopped (see `SessionStore.close`). */
export type CloseReason = 'charger_rebooted' | 'superseded' | 'connector_available' | 'timeout' | 'manual';

export interface SessionStart {
  connector: number | null;
  idTag: string | null;
  idTagStatus: string | null;
  site?: string;
  customer?: string;
  time: number;
  meterWh?: number;
}

export interface SessionFilter {
  charger?: string;
  site?: string;
  customer?: string;
  state?: 'active' | 'ended';
  /** Sessions that started at or after, epoch ms. */
  from?: number;
  /** ...and before, epoch ms. */
  to?: number;
  /** Sessions with a smaller id than this (the previous page's `next`). */
  before?: number;
  limit: number;
}

/** How long answers are kept for resends, ms. Chargers resend within minutes; a week is ample. */
const REPLY_RETENTION_MS = 7 * 24 * 3600 * 1000;

export class SessionStore {
  private readonly s: Record<string, Database.Statement>;
  /** Called when a session starts or ends (the site power limit shares itself out again). */
  onChange?: (row: SessionRow) => void;

  constructor(
    private readonly db: Database.Database,
    private readonly pricing: SessionPricing,
    private readonly now: () => number,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS ocpp_sessions (
        id INTEGER PRIMARY KEY, charger TEXT NOT NULL, transaction_id TEXT, protocol TEXT NOT NULL,
        connector INTEGER, id_tag TEXT, id_tag_status TEXT, site TEXT, customer TEXT,
        start_time INTEGER, stop_time INTEGER,
        meter_start_wh REAL, meter_start_at INTEGER, meter_stop_wh REAL, meter_stop_at INTEGER,
        stop_reason TEXT, energy_wh REAL, duration_s REAL, cost_net REAL, cost REAL, currency TEXT,
        state TEXT NOT NULL CHECK (state IN ('active', 'ended')),
        complete INTEGER NOT NULL DEFAULT 1, updated_at INTEGER NOT NULL,
        UNIQUE (charger, transaction_id));
      CREATE INDEX IF NOT EXISTS ocpp_sessions_charger ON ocpp_sessions (charger, id);
      CREATE INDEX IF NOT EXISTS ocpp_sessions_site ON ocpp_sessions (site, id);
      CREATE INDEX IF NOT EXISTS ocpp_sessions_customer ON ocpp_sessions (customer, id);
      CREATE INDEX IF NOT EXISTS ocpp_sessions_start ON ocpp_sessions (start_time);
      CREATE TABLE IF NOT EXISTS ocpp_replies (
        charger TEXT NOT NULL, key TEXT NOT NULL, reply TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (charger, key)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS ocpp_replies_at ON ocpp_replies (at);
      CREATE TABLE IF NOT EXISTS ocpp_transaction_events (
        charger TEXT NOT NULL, transaction_id TEXT NOT NULL, seq_no INTEGER NOT NULL,
        event_type TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (charger, transaction_id, seq_no)) WITHOUT ROWID;
    `);
    db.exec(`CREATE TABLE IF NOT EXISTS ocpp_remote_starts (
        charger TEXT NOT NULL, remote_start_id INTEGER NOT NULL, id_tag TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (charger, remote_start_id)) WITHOUT ROWID`);
    addColumns(db, 'ocpp_sessions', { available_since: 'INTEGER', summary_at: 'INTEGER', tariff: 'TEXT' });
    db.exec('CREATE INDEX IF NOT EXISTS ocpp_sessions_active ON ocpp_sessions (state, updated_at)');
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      reply: p('SELECT reply FROM ocpp_replies WHERE charger = ? AND key = ?').pluck(),
      saveReply: p('INSERT OR REPLACE INTO ocpp_replies (charger, key, reply, at) VALUES (?, ?, ?, ?)'),
      prune: p('DELETE FROM ocpp_replies WHERE at < ?'),
      pruneRemote: p('DELETE FROM ocpp_remote_starts WHERE at < ?'),
      remember: p(
        'INSERT OR REPLACE INTO ocpp_remote_starts (charger, remote_start_id, id_tag, at) VALUES (?, ?, ?, ?)',
      ),
      remoteTag: p('SELECT id_tag FROM ocpp_remote_starts WHERE charger = ? AND remote_start_id = ?').pluck(),
      insert:
        p(`INSERT INTO ocpp_sessions (charger, transaction_id, protocol, connector, id_tag, id_tag_status, site, customer,
                   start_time, meter_start_wh, meter_start_at, state, updated_at)
                 VALUES (@charger, @transaction_id, @protocol, @connector, @id_tag, @id_tag_status, @site, @customer,
                   @start_time, @meter_wh, @meter_at, 'active', @now)`),
      numberTx: p('UPDATE ocpp_sessions SET transaction_id = CAST(id AS TEXT) WHERE id = ?'),
      byTx: p('SELECT * FROM ocpp_sessions WHERE charger = ? AND transaction_id = ?'),
      byId: p('SELECT * FROM ocpp_sessions WHERE id = ?'),
      update: p(`UPDATE ocpp_sessions SET connector = @connector, id_tag = @id_tag, id_tag_status = @id_tag_status,
                   start_time = @start_time, stop_time = @stop_time, meter_start_wh = @meter_start_wh, meter_start_at = @meter_start_at,
                   meter_stop_wh = @meter_stop_wh, meter_stop_at = @meter_stop_at, stop_reason = @stop_reason,
                   energy_wh = @energy_wh, duration_s = @duration_s, cost_net = @cost_net, cost = @cost, currency = @currency, tariff = @tariff,
                   state = @state, complete = @complete, updated_at = @updated_at,
                   available_since = @available_since, summary_at = @summary_at WHERE id = @id`),
      available: p('UPDATE ocpp_sessions SET available_since = ? WHERE id = ?'),
      touch: p('UPDATE ocpp_sessions SET updated_at = ?, available_since = NULL WHERE id = ?'),
      active: p("SELECT * FROM ocpp_sessions WHERE charger = ? AND state = 'active' ORDER BY id"),
      stale: p("SELECT * FROM ocpp_sessions WHERE state = 'active' AND updated_at < ? ORDER BY updated_at LIMIT ?"),
      unplugged: p(
        "SELECT * FROM ocpp_sessions WHERE state = 'active' AND available_since < ? ORDER BY available_since LIMIT ?",
      ),
      event: p(
        'INSERT OR IGNORE INTO ocpp_transaction_events (charger, transaction_id, seq_no, event_type, at) VALUES (?, ?, ?, ?, ?)',
      ),
      seqs: p(
        "SELECT COUNT(*) AS n, MIN(seq_no) AS lo, MAX(seq_no) AS hi, SUM(event_type = 'Started') AS started FROM ocpp_transaction_events WHERE charger = ? AND transaction_id = ?",
      ),
    };
    this.prune();
  }

  /** Drops answers older than the retention; called at start and by the plugin every hour. */
  prune(): void {
    this.s.prune.run(this.now() - REPLY_RETENTION_MS);
    this.s.pruneRemote.run(this.now() - REPLY_RETENTION_MS);
  }

  /** The token a 2.0.1 RequestStartTransaction sent: its TransactionEvents name only the remoteStartId. */
  rememberRemoteStart(charger: string, remoteStartId: number, idTag: string): void {
    this.s.remember.run(charger, remoteStartId, idTag, this.now());
  }

  remoteStartTag(charger: string, remoteStartId: number): string | undefined {
    return this.s.remoteTag.get(charger, remoteStartId) as string | undefined;
  }

  /** The answer already given to a message with this idempotency key, if any. */
  reply<T>(charger: string, key: string): T | undefined {
    const text = this.s.reply.get(charger, key) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  byId(id: number): SessionRow | undefined {
    return this.s.byId.get(id) as SessionRow | undefined;
  }

  get(charger: string, transactionId: string): SessionRow | undefined {
    return this.s.byTx.get(charger, transactionId) as SessionRow | undefined;
  }

  /**
   * Runs `change` and stores its answer under `key` in one transaction, unless an answer is there
   * already: then that answer is returned (`replayed`) and only `resent` may change something, in
   * the same transaction (a resend that says something else than the first message).
   */
  once<T>(
    charger: string,
    key: string,
    change: () => { reply: T; session?: SessionRow },
    resent?: () => SessionRow | undefined,
  ): { reply: T; session?: SessionRow; replayed: boolean } {
    return this.db.transaction(() => {
      const earlier = this.reply<T>(charger, key);
      if (earlier !== undefined) return { reply: earlier, session: resent?.(), replayed: true };
      const done = change();
      this.s.saveReply.run(charger, key, JSON.stringify(done.reply), this.now());
      return { ...done, replayed: false };
    })();
  }

  /** A new 1.6 session; its id is the transactionId the charger gets. Call inside `once`. */
  open16(charger: string, start: SessionStart): SessionRow {
    const id = Number(this.s.insert.run(this.row(charger, null, 'ocpp1.6', start)).lastInsertRowid);
    this.s.numberTx.run(id);
    const row = this.s.byId.get(id) as SessionRow;
    if (start.meterWh !== undefined) this.pricing.observe(row, start.time, start.meterWh);
    this.onChange?.(row);
    return row;
  }

  /** The session of a 2.0.1 transaction, created by whichever of its events arrives first. */
  openOrGet201(charger: string, transactionId: string, start: SessionStart): SessionRow {
    const known = this.get(charger, transactionId);
    if (known) return known;
    this.s.insert.run(this.row(charger, transactionId, 'ocpp2.0.1', start));
    const row = this.get(charger, transactionId)!;
    this.onChange?.(row);
    return row;
  }

  /** A stop for a transaction we never saw start: recorded as an incomplete session. */
  openUnknown(charger: string, transactionId: string, protocol: string, connector: number | null): SessionRow {
    this.s.insert.run(
      this.row(charger, transactionId, protocol, { connector, idTag: null, idTagStatus: null, time: NaN }),
    );
    return this.get(charger, transactionId)!;
  }

  /**
   * Places an energy register reading by its own time: the earliest reading is the session's
   * meter start, the latest its meter stop, whatever order they arrive in.
   */
  observeMeter(row: SessionRow, time: number, wh: number): void {
    this.pricing.observe(row, time, wh);
    if (row.meter_start_at === null || time < row.meter_start_at)
      Object.assign(row, { meter_start_at: time, meter_start_wh: wh });
    if (row.meter_stop_at === null || time >= row.meter_stop_at)
      Object.assign(row, { meter_stop_at: time, meter_stop_wh: wh });
  }

  /** Records a 2.0.1 event's seqNo and whether the events seen so far have no gap. */
  recordEvent(row: SessionRow, seqNo: number, eventType: string, time: number): void {
    this.s.event.run(row.charger, row.transaction_id, seqNo, eventType, time);
    const { n, lo, hi, started } = this.s.seqs.get(row.charger, row.transaction_id) as {
      n: number;
      lo: number;
      hi: number;
      started: number;
    };
    // seqNo counts from the Started event; a missing Started or a hole means lost messages.
    row.complete = started > 0 && n === hi - lo + 1 ? 1 : 0;
  }

  /** Ends a session at `time` and computes energy, duration and cost. */
  end(row: SessionRow, time: number, reason: string | null): void {
    Object.assign(row, { stop_time: time, stop_reason: reason ?? row.stop_reason, state: 'ended' });
    this.onChange?.(row);
  }

  /** The charger's active sessions, oldest first. */
  active(charger: string): SessionRow[] {
    return this.s.active.all(charger) as SessionRow[];
  }

  /** Records since when the session's connector reports Available (null: it no longer does). */
  markAvailable(row: SessionRow, since: number | null): void {
    this.s.available.run(since, row.id);
    row.available_since = since;
  }

  /** The charger says the transaction goes on: its timeout and Available grace start again. */
  touch(row: SessionRow): void {
    this.s.touch.run(this.now(), row.id);
  }

  /** Active sessions with no message since `before` (receive time), at most `limit`. */
  stale(before: number, limit: number): SessionRow[] {
    return this.s.stale.all(before, limit) as SessionRow[];
  }

  /** Active sessions whose connector has reported Available since before `before`, at most `limit`. */
  unplugged(before: number, limit: number): SessionRow[] {
    return this.s.unplugged.all(before, limit) as SessionRow[];
  }

  /**
   * Ends a session the charger will not stop: incomplete, with our reason, its energy the last
   * reading we have and its stop the time of that reading (not now: a session closed by the
   * timeout must not be priced for the hours nobody heard of it).
   */
  close(row: SessionRow, reason: CloseReason): SessionRow {
    // The start's reading is a reading too: no later one means nothing was delivered since.
    if (row.meter_stop_wh === null && row.meter_start_wh !== null)
      Object.assign(row, { meter_stop_wh: row.meter_start_wh, meter_stop_at: row.meter_start_at });
    const last = Math.max(row.meter_stop_at ?? -Infinity, row.start_time ?? -Infinity);
    const stop_time = Number.isFinite(last) ? last : null;
    Object.assign(row, { stop_time, stop_reason: reason, state: 'ended', complete: 0, available_since: null });
    this.onChange?.(row);
    return this.save(row);
  }

  /** Writes the row back, deriving energy, duration and cost from what is known. */
  save(row: SessionRow): SessionRow {
    const energy =
      row.meter_start_wh !== null && row.meter_stop_wh !== null
        ? Math.max(0, row.meter_stop_wh - row.meter_start_wh)
        : null;
    const duration =
      row.start_time !== null && row.stop_time !== null ? Math.max(0, (row.stop_time - row.start_time) / 1000) : null;
    const cost = row.state === 'ended' && energy !== null && duration !== null ? this.pricing.cost(row) : undefined;
    if (row.start_time === null) row.complete = 0;
    if (row.state === 'ended' && row.summary_at === null) row.summary_at = row.stop_time;
    Object.assign(row, {
      energy_wh: energy,
      duration_s: duration,
      cost_net: cost?.net ?? null,
      cost: cost?.total ?? null,
      currency: cost?.currency ?? null,
      tariff: cost?.tariff ?? null,
      updated_at: this.now(),
    });
    this.s.update.run(row);
    return row;
  }

  list(f: SessionFilter): SessionRow[] {
    const where: string[] = [];
    const args: Record<string, unknown> = { limit: f.limit };
    for (const key of ['charger', 'site', 'customer', 'state'] as const) {
      if (f[key] !== undefined) {
        where.push(`${key} = @${key}`);
        args[key] = f[key];
      }
    }
    if (f.from !== undefined) {
      where.push('COALESCE(start_time, stop_time) >= @from');
      args.from = f.from;
    }
    if (f.to !== undefined) {
      where.push('COALESCE(start_time, stop_time) < @to');
      args.to = f.to;
    }
    if (f.before !== undefined) {
      where.push('id < @before');
      args.before = f.before;
    }
    const sql = `SELECT * FROM ocpp_sessions ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT @limit`;
    return this.db.prepare(sql).all(args) as SessionRow[];
  }

  private row(charger: string, transactionId: string | null, protocol: string, start: SessionStart) {
    const time = Number.isFinite(start.time) ? start.time : null;
    return {
      charger,
      transaction_id: transactionId,
      protocol,
      connector: start.connector,
      id_tag: start.idTag,
      id_tag_status: start.idTagStatus,
      site: start.site ?? null,
      customer: start.customer ?? null,
      start_time: time,
      meter_wh: start.meterWh ?? null,
      meter_at: start.meterWh !== undefined ? time : null,
      now: this.now(),
    };
  }
}

/** Adds columns a table created by an earlier version lacks (plugin tables are created at start). */
function addColumns(db: Database.Database, table: string, columns: Record<string, string>): void {
  const have = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name));
  for (const [name, type] of Object.entries(columns))
    if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
}
