import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { ApiKeys } from './api-keys.ts';
import { AuditLog } from './audit.ts';
import { backupDatabase } from './backup.ts';
import { Credentials, type CredentialScheme } from './credentials.ts';
import { Customers } from './customers.ts';
import { DeviceCache } from './device-records.ts';
import { DeviceStatusWriter } from './device-status.ts';
import { Devices } from './devices.ts';
import { InventoryDirectory } from './directory.ts';
import { DEFAULT_PENDING_LIMITS, PendingGate, type PendingLimits } from './pending-gate.ts';
import { currentVersion, migrate } from './migrations.ts';
import { resolveSecretKey, SecretBox, type SecretKeySource } from './secret-box.ts';
import { Sites } from './sites.ts';

export interface InventoryOptions {
  /** The SQLite file (created with its directory when missing), or `:memory:`. */
  path: string;
  /** Device kinds accepted as `active` when they first connect. Default: none (all pending). */
  autoAccept?: readonly string[];
  /** Bounds on devices pending approval (total, and new ones per source address per minute). */
  pending?: Partial<PendingLimits>;
  /**
   * 32-byte key sealing HMAC secrets. Default: `FLEETPULSE_SECRET_KEY`, else `<path>.key`
   * (created with mode 0600 on first need).
   */
  secretKey?: Buffer | string;
  /** Storage scheme per credential type. Default: `*_hmac` sealed, others sha256. */
  credentialSchemes?: Readonly<Record<string, CredentialScheme>>;
  /** Environment to read `FLEETPULSE_SECRET_KEY` from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number;
}

const KEY_CHECK = 'secret_key_check';
const KEY_CHECK_TEXT = 'fleetpulse secret key check';

export class Inventory {
  readonly customers: Customers;
  readonly sites: Sites;
  readonly devices: Devices;
  readonly credentials: Credentials;
  readonly apiKeys: ApiKeys;
  readonly audit: AuditLog;
  /** The `DeviceDirectory` the collector runtime and plugins use. */
  readonly directory: InventoryDirectory;
  private readonly status: DeviceStatusWriter;
  private box: SecretBox | undefined;
  private keySource: SecretKeySource | undefined;

  /** Use `openInventory`. */
  constructor(
    readonly db: Database,
    readonly path: string,
    private readonly opts: InventoryOptions,
  ) {
    const now = opts.now ?? Date.now;
    const records = new DeviceCache(db);
    this.status = new DeviceStatusWriter(db, records);
    this.customers = new Customers(db, now, (id) => records.customerChanged(id));
    this.sites = new Sites(db, this.customers, now);
    this.devices = new Devices(db, records, this.status, now);
    this.credentials = new Credentials(db, () => this.secretBox(), now, opts.credentialSchemes);
    this.apiKeys = new ApiKeys(db, now);
    this.audit = new AuditLog(db, now);
    const gate = new PendingGate(
      { ...DEFAULT_PENDING_LIMITS, ...opts.pending },
      () => this.devices.pendingCount(),
      now,
    );
    this.directory = new InventoryDirectory(
      this.devices,
      records,
      this.credentials,
      this.status,
      new Set(opts.autoAccept ?? []),
      gate,
    );
  }

  get schemaVersion(): number {
    return currentVersion(this.db);
  }

  /** Where the key sealing HMAC secrets came from, once one was needed. */
  get secretKeySource(): SecretKeySource | undefined {
    return this.keySource;
  }

  /**
   * A consistent copy of the database while it stays in use (SQLite's online backup, one
   * snapshot). The key file for sealed secrets is not part of it: keep that separately.
   */
  async backup(toFile: string): Promise<void> {
    this.status.flush();
    await backupDatabase(this.db, toFile);
  }

  close(): void {
    if (!this.db.open) return;
    this.status.flush();
    this.db.pragma('optimize');
    this.db.close();
  }

  /**
   * The key for sealed credentials, checked against the marker sealed with the key that was
   * used before: a wrong FLEETPULSE_SECRET_KEY fails loudly instead of failing every HMAC check.
   */
  secretBox(): SecretBox {
    if (this.box) return this.box;
    const resolved = resolveSecretKey({ dbPath: this.path, secretKey: this.opts.secretKey, env: this.opts.env });
    const box = new SecretBox(resolved.key);
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(KEY_CHECK) as
      { value: string } | undefined;
    if (row) {
      try {
        box.open(Buffer.from(row.value, 'base64'), KEY_CHECK);
      } catch {
        throw new Error(
          `the secret key from ${resolved.file ?? resolved.source} is not the key that sealed this inventory's HMAC secrets ` +
            '(set FLEETPULSE_SECRET_KEY or restore the key file that belongs to this database)',
        );
      }
    } else {
      const marker = box.seal(Buffer.from(KEY_CHECK_TEXT), KEY_CHECK).toString('base64');
      this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run(KEY_CHECK, marker);
    }
    this.box = box;
    this.keySource = resolved.source;
    return box;
  }
}

/**
 * Opens (or creates) the inventory: WAL mode, foreign keys on, migrations applied. Fails at
 * once when the secret key does not match the one that sealed stored HMAC secrets.
 */
export function openInventory(opts: InventoryOptions): Inventory {
  const file = opts.path;
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new BetterSqlite3(file);
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL is durable across process crashes in WAL mode; only power loss can drop the last commits.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // `fleetpulse keys` and `backup` may hold the database briefly while serve runs.
    db.pragma('busy_timeout = 5000');
    migrate(db);
    const inventory = new Inventory(db, file, opts);
    const sealedInUse = db.prepare('SELECT 1 FROM settings WHERE key = ?').get(KEY_CHECK) !== undefined;
    if (sealedInUse || inventory.credentials.hasSealed()) inventory.secretBox();
    return inventory;
  } catch (err) {
    db.close();
    throw err;
  }
}
