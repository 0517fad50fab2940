/**
 * The device directory: how plugins and the runtime learn who a device is. The inventory
 * (SQLite) implements it in `serve`; `MemoryDirectory` (this SDK, memory-directory.ts) serves
 * `fleetpulse agent`, tests and benchmarks. Lookups are synchronous because enrichment runs on every emitted point; an
 * implementation over a remote store keeps a local cache.
 */
export type Lifecycle = 'pending' | 'active' | 'retired';

export interface DeviceRecord {
  id: string;
  kind: string;
  model?: string;
  customer?: string;
  site?: string;
  /** The agent (another device id) this device is reached through, if any. */
  gateway?: string;
  /** The customer's contract (basic | standard | premium): alert routing follows it. */
  contract?: string;
  firmware?: string;
  lifecycle: Lifecycle;
  labels?: Record<string, string>;
}

/** What a device presents to prove who it is. `type` is the plugin's credential type. */
export type Credential =
  | { type: string; secret: string }
  /** For HMAC-signed requests: the directory calls `verify` with each active secret. */
  | { type: string; verify: (secret: Buffer) => boolean };

export type AuthFailure = 'unknown_device' | 'pending' | 'retired' | 'no_credential' | 'bad_secret';

/** `credential`: the id of the credential that matched (see `issueSecret`). */
export type AuthResult = { ok: true; device: DeviceRecord; credential?: string } | { ok: false; reason: AuthFailure };

/** Attributes a device reports about itself (boot notification, hello frame, ...). */
export interface DiscoveredAttributes {
  kind: string;
  model?: string;
  firmware?: string;
  gateway?: string;
  /**
   * What else the device said about itself (OCPP BootNotification: vendor, model, serial,
   * firmware), kept in the inventory for whoever approves it, not written as points.
   */
  reported?: Record<string, string>;
}

export interface DeviceDirectory {
  /**
   * The device's record. Records are never changed in place: a changed device gets a new record
   * object, so callers may cache what they derive from a record by its identity.
   */
  lookup(id: string): DeviceRecord | undefined;
  authenticate(id: string, credential: Credential): Promise<AuthResult>;
  /**
   * Records a device that connected but is not in the inventory, or updates what a known device
   * says about itself. Unknown devices become `pending` unless their kind is auto-accepted.
   * `source`: the sender's address, for the inventory's bound on new pending devices per
   * address; an unknown device over the bounds is refused with `DiscoveryRefused`.
   */
  discover(id: string, attrs: DiscoveredAttributes, source?: string): Promise<DeviceRecord>;
  /**
   * A new secret of `type` for a device that is told it through its own protocol (OCPP's
   * AuthorizationKey): it works beside the current ones, so a device that never got it can still
   * connect, until `retireOthers` leaves it alone.
   */
  issueSecret(id: string, type: string): Promise<{ credential: string; secret: string }>;
  /** Revokes every active credential of `type` but `keep`: the device has used the new one. */
  retireOthers(id: string, type: string, keep: string): Promise<void>;
  /** Revokes one credential (a new secret the device refused). */
  revokeCredential(id: string, credential: string): Promise<void>;
  /** Every device the liveness tracker should watch (active ones). */
  all(): Iterable<DeviceRecord>;
  /** The runtime reports each liveness transition here so the inventory shows live state. */
  reportStatus(id: string, state: DeviceStatusState, lastSeen: number): void;
}

export type DeviceStatusState = 'online' | 'offline' | 'error' | 'maintenance';
