import type { Database, Statement } from 'better-sqlite3';
import type { DeviceRecord } from '../sdk/devices.ts';
import { DEVICE_COLUMNS } from './device-query.ts';
import type { Device } from './device-types.ts';
import { insertId, removeId } from './id-order.ts';

interface Entry {
  device: Device;
  record: DeviceRecord;
  /** The row's rowid, which search results (`device_search`) name devices by. */
  seq: number;
}

/**
 * Every device held in memory, both as the API shows it (`Device`) and as the runtime sees it
 * (`DeviceRecord`): enrichment looks a device up for every emitted point, and a device list
 * only asks SQLite for the ids of a page (an index-only read) and takes the rows from here.
 *
 * Loaded whole on first use (20,000 devices: a few tens of milliseconds, ~10 MB) and kept in
 * step by the only two writers of the devices table, the devices repository and the status
 * writer: the repository re-reads every row it writes, the status writer applies its UPDATE to the
 * cached row. Only this process writes devices, so nothing else
 * can make it stale. The objects are frozen: a refresh replaces them, nobody edits them.
 */
export class DeviceCache {
  private entries: Map<string, Entry> | undefined;
  private readonly bySeq = new Map<number, Entry>();
  /** Device ids by site and by customer in id order, for a text search that matched their names. */
  private readonly bySite = new Map<string, string[]>();
  private readonly byCustomer = new Map<string, string[]>();
  private readonly one: Statement<[string]>;
  private readonly contractOf: Statement<[string]>;
  /** Customer id → contract, read once per customer. */
  private readonly contracts = new Map<string, string | undefined>();

  constructor(private readonly db: Database) {
    this.one = db.prepare(`SELECT ${DEVICE_COLUMNS}, d.seq FROM devices d WHERE d.id = ?`).raw(true);
    this.contractOf = db.prepare('SELECT contract FROM customers WHERE id = ?');
  }

  /** A customer's contract changed: its devices' records (and so their points' `contract` tag) follow. */
  customerChanged(id: string): void {
    this.contracts.delete(id);
    if (!this.entries) return;
    for (const e of [...this.entries.values()])
      if (e.device.customer === id) this.replace({ ...e, record: this.toRecord(e.device) });
  }

  /** The runtime's view. */
  get(id: string): DeviceRecord | undefined {
    return this.load().get(id)?.record;
  }

  /** The API's view. */
  device(id: string): Device | undefined {
    return this.load().get(id)?.device;
  }

  /** The API's view, by rowid. */
  deviceAt(seq: number): Device | undefined {
    this.load();
    return this.bySeq.get(seq)?.device;
  }

  /** The rowid of a device, which `device_search` names it by. */
  seqOf(id: string): number | undefined {
    return this.load().get(id)?.seq;
  }

  /** Ids of the devices at this site, in id order. */
  idsAtSite(site: string): readonly string[] {
    this.load();
    return this.bySite.get(site) ?? NONE;
  }

  /** Ids of this customer's devices, in id order. */
  idsOfCustomer(customer: string): readonly string[] {
    this.load();
    return this.byCustomer.get(customer) ?? NONE;
  }

  *values(): IterableIterator<DeviceRecord> {
    for (const entry of this.load().values()) yield entry.record;
  }

  /** The status writer's UPDATE, applied to the cached row as SQLite applies it (device-status.ts). */
  statusWritten(id: string, state: Device['state'], lastSeen: number): void {
    const old = this.entries?.get(id);
    if (!old) return;
    const d = old.device;
    const device = Object.freeze({
      ...d,
      state,
      last_seen: Math.max(d.last_seen ?? 0, lastSeen),
      first_seen: d.first_seen ?? lastSeen,
    });
    // The runtime's record holds no live state: it stays the same object.
    const entry = { ...old, device };
    this.entries!.set(id, entry);
    this.bySeq.set(old.seq, entry);
  }

  /** Re-reads one device after a write (or forgets it when it is gone). */
  refresh(id: string): void {
    if (!this.entries) return;
    const row = this.one.get(id) as unknown[] | undefined;
    const old = this.entries.get(id);
    const next = row && this.entry(row);
    // Most refreshes are state changes: the device stays in its site's and customer's lists.
    if (old && next && old.seq === next.seq && sameOwner(old.device, next.device)) return this.replace(next);
    if (old) this.remove(old);
    if (next) this.add(next);
  }

  private add(e: Entry): void {
    this.replace(e);
    if (e.device.site !== null) insertId(group(this.bySite, e.device.site), e.device.id);
    if (e.device.customer !== null) insertId(group(this.byCustomer, e.device.customer), e.device.id);
  }

  private replace(e: Entry): void {
    this.entries!.set(e.device.id, e);
    this.bySeq.set(e.seq, e);
  }

  private remove(e: Entry): void {
    this.entries!.delete(e.device.id);
    this.bySeq.delete(e.seq);
    if (e.device.site !== null) removeId(this.bySite.get(e.device.site) ?? [], e.device.id);
    if (e.device.customer !== null) removeId(this.byCustomer.get(e.device.customer) ?? [], e.device.id);
  }

  private load(): Map<string, Entry> {
    if (!this.entries) {
      this.entries = new Map();
      this.bySeq.clear();
      this.bySite.clear();
      this.byCustomer.clear();
      // In id order, so that every list is built by appending.
      const all = this.db.prepare(`SELECT ${DEVICE_COLUMNS}, d.seq FROM devices d ORDER BY d.id`).raw(true);
      for (const row of all.iterate() as IterableIterator<unknown[]>) this.add(this.entry(row));
    }
    return this.entries;
  }

  /** A row of DEVICE_COLUMNS followed by seq. */
  private entry(row: unknown[]): Entry {
    const device = fromColumns(row);
    return { device, record: this.toRecord(device), seq: row[15] as number };
  }

  private toRecord(d: Device): DeviceRecord {
    let contract: string | undefined;
    if (d.customer !== null) {
      if (!this.contracts.has(d.customer))
        this.contracts.set(d.customer, (this.contractOf.get(d.customer) as { contract: string } | undefined)?.contract);
      contract = this.contracts.get(d.customer);
    }
    return toRecord(d, contract);
  }
}

const NONE: readonly string[] = [];

function group(map: Map<string, string[]>, key: string): string[] {
  let ids = map.get(key);
  if (!ids) map.set(key, (ids = []));
  return ids;
}

const sameOwner = (a: Device, b: Device) => a.site === b.site && a.customer === b.customer;

/** A row of DEVICE_COLUMNS, in their order, as a frozen Device. */
export function fromColumns(c: unknown[]): Device {
  return Object.freeze({
    id: c[0] as string,
    kind: c[1] as string,
    model: c[2] as string | null,
    customer: c[3] as string | null,
    site: c[4] as string | null,
    gateway: c[5] as string | null,
    firmware: c[6] as string | null,
    installed_on: c[7] as string | null,
    labels: Object.freeze(JSON.parse(c[8] as string) as Record<string, string>),
    lifecycle: c[9] as Device['lifecycle'],
    state: c[10] as Device['state'],
    first_seen: c[11] as number | null,
    last_seen: c[12] as number | null,
    created_at: c[13] as number,
    updated_at: c[14] as number,
  });
}

function toRecord(d: Device, contract: string | undefined): DeviceRecord {
  const record: DeviceRecord = { id: d.id, kind: d.kind, lifecycle: d.lifecycle };
  if (contract !== undefined) record.contract = contract;
  if (d.model !== null) record.model = d.model;
  if (d.customer !== null) record.customer = d.customer;
  if (d.site !== null) record.site = d.site;
  if (d.gateway !== null) record.gateway = d.gateway;
  if (d.firmware !== null) record.firmware = d.firmware;
  if (Object.keys(d.labels).length > 0) record.labels = d.labels;
  return Object.freeze(record);
}
