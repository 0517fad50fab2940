import type { Database, Statement } from 'better-sqlite3';
import type { DiscoveredAttributes } from '../sdk/devices.ts';
import { type DeviceCache } from './device-records.ts';
import type { DeviceStatusWriter } from './device-status.ts';
import { keyFitsField, mergedPage, pageOf } from './device-page.ts';
import { allStatement, DEVICE_COLUMNS, listStatement, type TextMatch } from './device-query.ts';
import { DeviceSearch } from './device-search.ts';
import { compareUtf8 } from '../pipeline/utf8-order.ts';
import { StatementCache } from './statement-cache.ts';

/**
 * Above this many matches (5 % of a 20,000-device fleet), `q` walks devices in page order
 * instead of fetching and sorting every match: a page then fills after a few thousand checks
 * at most, where fetching costs per match. A list by id merges the matching sites' and
 * customers' devices however many they are (mergedPage); only its id matches are bounded.
 */
const INDEXED_SEARCH_MAX_MATCHES = 1000;
import type {
  Device,
  DeviceFilter,
  DeviceInput,
  DeviceListOptions,
  DevicePatch,
  DeviceReport,
  ImportMode,
  ImportResult,
  ImportRow,
  RowError,
} from './device-types.ts';
import type { Page } from './customers.ts';
import { conflict, invalid, InventoryError, notFound } from './errors.ts';

type DeviceRow = Omit<Device, 'labels'> & { labels: string };

const EDITABLE = ['model', 'customer', 'site', 'gateway', 'firmware', 'installed_on', 'lifecycle'] as const;
const COLUMN_OF: Record<(typeof EDITABLE)[number], string> = {
  model: 'model',
  customer: 'customer_id',
  site: 'site_id',
  gateway: 'gateway',
  firmware: 'firmware',
  installed_on: 'installed_on',
  lifecycle: 'lifecycle',
};

type ReportRow = { reported: string; reported_at: number };
const toReport = (row: ReportRow): DeviceReport => ({
  reported: JSON.parse(row.reported) as Record<string, string>,
  at: row.reported_at,
});

export class Devices {
  private readonly byId: Statement<[string], DeviceRow>;
  private readonly insert: Statement;
  private readonly seqOf: Statement<[string], { seq: number }>;
  private readonly deleteLabels: Statement<[number]>;
  private readonly insertLabel: Statement<[number, string, string]>;
  private readonly siteOwner: Statement<[string], { customer_id: string }>;
  private readonly customerExists: Statement<[string]>;
  private readonly writeSearch: Statement<[number, string, string | null, string | null]>;
  private readonly search: DeviceSearch;
  private readonly pending: Statement<[], number>;
  private readonly writeReport: Statement<[string, string, number]>;
  private readonly readReport: Statement<[string], ReportRow>;
  private readonly readReports: Statement<[string], ReportRow & { device: string }>;
  /** List statements by SQL text. */
  private readonly statements: StatementCache;

  constructor(
    private readonly db: Database,
    private readonly records: DeviceCache,
    private readonly status: DeviceStatusWriter,
    private readonly now: () => number,
  ) {
    this.statements = new StatementCache(db);
    this.byId = db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices d WHERE d.id = ?`);
    this.insert = db.prepare(
      `INSERT INTO devices (id, kind, model, customer_id, site_id, gateway, firmware, installed_on, labels,
         lifecycle, first_seen, last_seen, created_at, updated_at)
       VALUES (@id, @kind, @model, @customer, @site, @gateway, @firmware, @installed_on, @labels,
         @lifecycle, @first_seen, @last_seen, @now, @now)`,
    );
    this.seqOf = db.prepare('SELECT seq FROM devices WHERE id = ?');
    this.pending = db
      .prepare("SELECT count(*) FROM devices WHERE lifecycle = 'pending'")
      .pluck() as unknown as Statement<[], number>;
    this.writeReport = db.prepare(
      `INSERT INTO device_reports (device, reported, reported_at) VALUES (?, ?, ?)
       ON CONFLICT(device) DO UPDATE SET reported = excluded.reported, reported_at = excluded.reported_at`,
    );
    this.readReport = db.prepare('SELECT reported, reported_at FROM device_reports WHERE device = ?');
    this.readReports = db.prepare(
      'SELECT device, reported, reported_at FROM device_reports WHERE device IN (SELECT value FROM json_each(?))',
    );
    this.deleteLabels = db.prepare('DELETE FROM device_labels WHERE device_seq = ?');
    this.insertLabel = db.prepare('INSERT INTO device_labels (device_seq, key, value) VALUES (?, ?, ?)');
    this.search = new DeviceSearch(db);
    this.siteOwner = db.prepare('SELECT customer_id FROM sites WHERE id = ?');
    this.customerExists = db.prepare('SELECT 1 FROM customers WHERE id = ?');
    this.writeSearch = db.prepare(
      `INSERT OR REPLACE INTO device_search (rowid, id, site, customer) VALUES (?, ?,
         coalesce((SELECT name FROM sites WHERE id = ?), ''), coalesce((SELECT company FROM customers WHERE id = ?), ''))`,
    );
  }

  get(id: string): Device | undefined {
    this.status.flush();
    return this.records.device(id);
  }

  require(id: string): Device {
    const device = this.get(id);
    if (!device) throw notFound('device', id);
    return device;
  }

  list(opts: DeviceListOptions): Page<Device> {
    this.status.flush();
    let text: TextMatch | undefined;
    if (opts.q) {
      // Matches are filtered, ordered and paged in memory, from the cache, where they can be.
      const field = opts.sort?.field ?? 'id';
      const found = this.textMatch(opts.q);
      if (found && field === 'id') return mergedPage(found, (id) => this.records.device(id)!, opts);
      const candidates = found && this.union(found);
      if (candidates && keyFitsField(field, opts.after)) return pageOf(candidates, opts);
      text = candidates
        ? { kind: 'rowids', rowids: candidates.map((d) => this.records.seqOf(d.id)!) }
        : { kind: 'scan' };
    }
    const { sql, values } = listStatement(opts, text, 'd.id');
    const ids = this.statement(sql).all(...values) as string[];
    const items: Device[] = [];
    for (let i = 0; i < ids.length && i < opts.limit; i++) items.push(this.cached(ids[i]));
    return { items, more: ids.length > opts.limit };
  }

  /**
   * The devices whose id, site name or customer name contain `q`, as lists of ids in id order:
   * ids and names matched once each (device-search.ts), the devices of matching sites and
   * customers from the cache. Undefined past the bound of id matches: the list then walks
   * devices in page order instead.
   */
  private textMatch(q: string): (readonly string[])[] | undefined {
    const found = this.search.match(q, INDEXED_SEARCH_MAX_MATCHES + 1);
    if (found.seqs.length > INDEXED_SEARCH_MAX_MATCHES) return undefined;
    const ids: string[] = [];
    for (const seq of found.seqs) {
      const device = this.records.deviceAt(seq);
      if (!device) return undefined;
      ids.push(device.id);
    }
    return [
      ids.sort(compareUtf8),
      ...found.sites.map((site) => this.records.idsAtSite(site)),
      ...found.customers.map((customer) => this.records.idsOfCustomer(customer)),
    ];
  }

  /** The devices of the lists, each once; undefined past the bound (then SQL walks them in page order). */
  private union(lists: readonly (readonly string[])[]): Device[] | undefined {
    const ids = new Set<string>();
    for (const list of lists) {
      for (const id of list) ids.add(id);
      if (ids.size > INDEXED_SEARCH_MAX_MATCHES) return undefined;
    }
    return Array.from(ids, (id) => this.records.device(id)!);
  }

  /** Every matching device, by id: for export. */
  all(filter: DeviceFilter = {}): Device[] {
    this.status.flush();
    const { sql, values } = allStatement(filter, 'd.id');
    return (this.statement(sql).all(...values) as string[]).map((id) => this.cached(id));
  }

  /** Devices waiting for approval (the pending gate's bound). */
  pendingCount(): number {
    return this.pending.get()!;
  }

  /** What the device last reported about itself (boot data), for whoever approves it. */
  reported(id: string): DeviceReport | undefined {
    const row = this.readReport.get(id);
    return row && toReport(row);
  }

  /** What each of `ids` last reported, in one query (a page of pending devices), by device id. */
  reports(ids: readonly string[]): Map<string, DeviceReport> {
    const rows = this.readReports.all(JSON.stringify(ids));
    return new Map(rows.map((row) => [row.device, toReport(row)]));
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM devices').get() as { n: number }).n;
  }

  create(input: DeviceInput): Device {
    this.db.transaction(() => {
      if (this.seqOf.get(input.id)) throw conflict(`device '${input.id}' already exists`, { device: input.id }, 'id');
      this.insertDevice(input, this.resolveOwner(input.customer, input.site));
    })();
    this.records.refresh(input.id);
    return this.require(input.id);
  }

  update(id: string, patch: DevicePatch): Device {
    this.db.transaction(() => {
      const current = this.require(id);
      this.applyPatch(current, this.withOwner(current, patch));
    })();
    this.records.refresh(id);
    return this.require(id);
  }

  delete(id: string): void {
    this.require(id);
    this.db.prepare('DELETE FROM devices WHERE id = ?').run(id);
    this.records.refresh(id);
  }

  /** pending → active. */
  approve(id: string): Device {
    const device = this.require(id);
    if (device.lifecycle !== 'pending') {
      throw conflict(
        `device '${id}' is ${device.lifecycle}, not pending`,
        { device: id, lifecycle: device.lifecycle },
        'lifecycle',
      );
    }
    return this.update(id, { lifecycle: 'active' });
  }

  /** Every problem with the rows, without writing anything. */
  checkImport(rows: readonly ImportRow[], mode: ImportMode): RowError[] {
    const errors: RowError[] = [];
    const firstRow = new Map<string, number>();
    for (const { row, device } of rows) {
      const earlier = firstRow.get(device.id);
      if (earlier !== undefined) {
        errors.push({ row, field: 'id', message: `device '${device.id}' appears again (first in row ${earlier})` });
        continue;
      }
      firstRow.set(device.id, row);
      const existing = this.byId.get(device.id);
      if (existing && mode === 'create') {
        errors.push({ row, field: 'id', message: `device '${device.id}' already exists` });
      } else if (existing && existing.kind !== device.kind) {
        errors.push({
          row,
          field: 'kind',
          message: `device '${device.id}' exists with kind '${existing.kind}'; a kind never changes`,
        });
      }
      try {
        if (existing) this.withOwner(toDevice(existing), device);
        else this.resolveOwner(device.customer, device.site);
      } catch (err) {
        if (!(err instanceof InventoryError)) throw err;
        errors.push({ row, field: err.field ?? 'id', message: err.message });
      }
    }
    return errors;
  }

  /** All rows or none: checks every row, then writes them in one transaction. */
  importDevices(rows: readonly ImportRow[], mode: ImportMode): ImportResult {
    let created = 0;
    let updated = 0;
    const result = this.db.transaction((): ImportResult => {
      const errors = this.checkImport(rows, mode);
      if (errors.length > 0) return { ok: false, errors };
      for (const { device } of rows) {
        const existing = this.byId.get(device.id);
        if (!existing) {
          this.insertDevice(device, this.resolveOwner(device.customer, device.site));
          created++;
        } else {
          const { id: _id, kind: _kind, ...patch } = device;
          const current = toDevice(existing);
          this.applyPatch(current, this.withOwner(current, patch));
          updated++;
        }
      }
      return { ok: true, created, updated };
    })();
    if (result.ok) {
      for (const { device } of rows) this.records.refresh(device.id);
      this.db.pragma('optimize');
    }
    return result;
  }

  /**
   * A device that connected: records an unknown one (`pending` unless auto-accepted) or takes
   * what a known one says about itself (model, firmware, gateway). Writes only on change.
   */
  discover(id: string, attrs: DiscoveredAttributes, autoAccept: boolean): Device {
    const now = this.now();
    const existing = this.byId.get(id);
    if (!existing) {
      this.db.transaction(() => {
        this.insertDevice(
          {
            id,
            kind: attrs.kind,
            model: attrs.model ?? null,
            firmware: attrs.firmware ?? null,
            gateway: attrs.gateway ?? null,
            lifecycle: autoAccept ? 'active' : 'pending',
          },
          null,
          now,
        );
      })();
    } else {
      const patch: DevicePatch = {};
      if (attrs.model !== undefined && attrs.model !== existing.model) patch.model = attrs.model;
      if (attrs.firmware !== undefined && attrs.firmware !== existing.firmware) patch.firmware = attrs.firmware;
      if (attrs.gateway !== undefined && attrs.gateway !== existing.gateway) patch.gateway = attrs.gateway;
      if (Object.keys(patch).length > 0) this.applyPatch(toDevice(existing), patch);
      if (existing.first_seen === null) this.db.prepare('UPDATE devices SET first_seen = ? WHERE id = ?').run(now, id);
    }
    if (attrs.reported) this.writeReport.run(id, JSON.stringify(attrs.reported), now);
    this.records.refresh(id);
    return this.require(id);
  }

  /** The patch with `customer` and `site` settled so that they agree. */
  private withOwner(current: Device, patch: DevicePatch): DevicePatch {
    const siteChanges = patch.site !== undefined;
    const customerChanges = patch.customer !== undefined;
    if (!siteChanges && !customerChanges) return patch;
    const site = siteChanges ? patch.site : current.site;
    // Moving a device to a site without naming a customer takes the site's customer; taking it
    // off its site keeps the customer.
    const customer = customerChanges ? patch.customer : site ? undefined : current.customer;
    return { ...patch, site: site ?? null, customer: this.resolveOwner(customer, site) };
  }

  /**
   * The customer a device ends up with: the given one, or the site's. A site belongs to one
   * customer, so naming both requires them to agree.
   */
  private resolveOwner(customer: string | null | undefined, site: string | null | undefined): string | null {
    if (site) {
      const row = this.siteOwner.get(site);
      if (!row) throw invalid('site', `site '${site}' does not exist`);
      if (customer !== undefined && customer !== row.customer_id) {
        throw invalid('site', `site '${site}' belongs to customer '${row.customer_id}', not '${customer ?? 'none'}'`);
      }
      return row.customer_id;
    }
    if (customer) {
      if (!this.customerExists.get(customer)) {
        throw invalid('customer', `customer '${customer}' does not exist`);
      }
      return customer;
    }
    return null;
  }

  private insertDevice(input: DeviceInput, customer: string | null, seenAt?: number): void {
    const now = this.now();
    const labels = input.labels ?? {};
    const { lastInsertRowid } = this.insert.run({
      id: input.id,
      kind: input.kind,
      model: input.model ?? null,
      customer,
      site: input.site ?? null,
      gateway: input.gateway ?? null,
      firmware: input.firmware ?? null,
      installed_on: input.installed_on ?? null,
      labels: JSON.stringify(labels),
      lifecycle: input.lifecycle ?? 'active',
      first_seen: seenAt ?? null,
      last_seen: seenAt ?? null,
      now,
    });
    const seq = Number(lastInsertRowid);
    for (const [key, value] of Object.entries(labels)) this.insertLabel.run(seq, key, value);
    this.writeSearch.run(seq, input.id, input.site ?? null, customer);
    this.search.addDevice(seq, input.id);
  }

  private applyPatch(current: Device, patch: DevicePatch): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const field of EDITABLE) {
      const value = patch[field];
      if (value === undefined || value === current[field]) continue;
      sets.push(`${COLUMN_OF[field]} = ?`);
      values.push(value);
    }
    if (patch.labels !== undefined) {
      sets.push('labels = ?');
      values.push(JSON.stringify(patch.labels));
    }
    if (sets.length === 0) return;
    this.db
      .prepare(`UPDATE devices SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`)
      .run(...values, this.now(), current.id);
    const moved =
      (patch.site !== undefined && patch.site !== current.site) ||
      (patch.customer !== undefined && patch.customer !== current.customer);
    if (patch.labels === undefined && !moved) return;
    const seq = this.seqOf.get(current.id)!.seq;
    if (patch.labels !== undefined) {
      this.deleteLabels.run(seq);
      for (const [key, value] of Object.entries(patch.labels)) this.insertLabel.run(seq, key, value);
    }
    if (moved) {
      this.writeSearch.run(
        seq,
        current.id,
        patch.site !== undefined ? patch.site : current.site,
        patch.customer !== undefined ? patch.customer : current.customer,
      );
    }
  }

  private cached(id: string): Device {
    let device = this.records.device(id);
    if (!device) {
      this.records.refresh(id);
      device = this.records.device(id);
    }
    return device!;
  }

  private statement(sql: string): Statement {
    // Lists select ids only (often straight from an index); the rows come from the cache.
    return this.statements.get(sql, { pluck: true });
  }
}

function toDevice(row: DeviceRow): Device {
  return { ...row, labels: JSON.parse(row.labels) as Record<string, string> };
}
