import type { Database, Statement } from 'better-sqlite3';
import type { DeviceRecord, Lifecycle } from '../sdk/devices.ts';

interface RecordRow {
  id: string;
  kind: string;
  model: string | null;
  customer_id: string | null;
  site_id: string | null;
  gateway: string | null;
  firmware: string | null;
  lifecycle: Lifecycle;
  labels: string;
}

const COLUMNS = 'id, kind, model, customer_id, site_id, gateway, firmware, lifecycle, labels';

/**
 * Every device as the runtime sees it (`DeviceRecord`), held in memory: enrichment looks a
 * device up for every emitted point. Loaded whole on first use (20,000 rows take a few
 * milliseconds) and kept in step by the devices repository, which refreshes a row after every
 * write it makes. Only this process writes devices, so nothing else can make it stale.
 */
export class DeviceRecordCache {
  private records: Map<string, DeviceRecord> | undefined;
  private readonly one: Statement<[string], RecordRow>;

  constructor(private readonly db: Database) {
    this.one = db.prepare(`SELECT ${COLUMNS} FROM devices WHERE id = ?`);
  }

  get(id: string): DeviceRecord | undefined {
    return this.load().get(id);
  }

  values(): IterableIterator<DeviceRecord> {
    return this.load().values();
  }

  /** Re-reads one device after a write (or forgets it when it is gone). */
  refresh(id: string): void {
    if (!this.records) return;
    const row = this.one.get(id);
    if (row) this.records.set(id, toRecord(row));
    else this.records.delete(id);
  }

  private load(): Map<string, DeviceRecord> {
    if (!this.records) {
      const map = new Map<string, DeviceRecord>();
      for (const row of this.db.prepare(`SELECT ${COLUMNS} FROM devices`).iterate() as IterableIterator<RecordRow>) {
        map.set(row.id, toRecord(row));
      }
      this.records = map;
    }
    return this.records;
  }
}

function toRecord(row: RecordRow): DeviceRecord {
  const record: DeviceRecord = { id: row.id, kind: row.kind, lifecycle: row.lifecycle };
  if (row.model !== null) record.model = row.model;
  if (row.customer_id !== null) record.customer = row.customer_id;
  if (row.site_id !== null) record.site = row.site_id;
  if (row.gateway !== null) record.gateway = row.gateway;
  if (row.firmware !== null) record.firmware = row.firmware;
  const labels = JSON.parse(row.labels) as Record<string, string>;
  if (Object.keys(labels).length > 0) record.labels = labels;
  return Object.freeze(record);
}
