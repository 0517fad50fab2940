import { timingSafeEqual, createHash } from 'node:crypto';
import type {
  AuthResult,
  Credential,
  DeviceDirectory,
  DeviceRecord,
  DeviceStatusState,
  DiscoveredAttributes,
} from './devices.ts';
import { generateSecret } from './secrets.ts';

interface Secret {
  type: string;
  value: string;
  /** Given by `add` when absent. */
  id?: string;
}

/**
 * A device directory held in memory: for plugin tests, the worked example and runs without an
 * inventory. Unknown devices are accepted as active when their kind is in `autoAccept`.
 */
export class MemoryDirectory implements DeviceDirectory {
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly secrets = new Map<string, Secret[]>();
  readonly statuses = new Map<string, { state: DeviceStatusState; lastSeen: number }>();

  constructor(private readonly autoAccept: ReadonlySet<string> = new Set()) {}

  add(device: Omit<DeviceRecord, 'lifecycle'> & { lifecycle?: DeviceRecord['lifecycle'] }, secret?: Secret): this {
    this.devices.set(device.id, { lifecycle: 'active', ...device });
    if (secret) this.secrets.set(device.id, [...(this.secrets.get(device.id) ?? []), { id: this.nextId(), ...secret }]);
    return this;
  }

  /** The secrets of a device that still work, of one type. */
  activeSecrets(id: string, type: string): string[] {
    return (this.secrets.get(id) ?? []).filter((s) => s.type === type).map((s) => s.value);
  }

  async issueSecret(id: string, type: string): Promise<{ credential: string; secret: string }> {
    const secret = { id: this.nextId(), type, value: generateSecret(type) };
    this.secrets.set(id, [...(this.secrets.get(id) ?? []), secret]);
    return { credential: secret.id, secret: secret.value };
  }

  async retireOthers(id: string, type: string, keep: string): Promise<void> {
    this.secrets.set(
      id,
      (this.secrets.get(id) ?? []).filter((s) => s.type !== type || s.id === keep),
    );
  }

  async revokeCredential(id: string, credential: string): Promise<void> {
    this.secrets.set(
      id,
      (this.secrets.get(id) ?? []).filter((s) => s.id !== credential),
    );
  }

  private issued = 0;
  private nextId(): string {
    return `mem_${++this.issued}`;
  }

  revoke(id: string): void {
    this.secrets.delete(id);
  }

  lookup(id: string): DeviceRecord | undefined {
    return this.devices.get(id);
  }

  async authenticate(id: string, credential: Credential): Promise<AuthResult> {
    const device = this.devices.get(id);
    if (!device) return { ok: false, reason: 'unknown_device' };
    if (device.lifecycle !== 'active') return { ok: false, reason: device.lifecycle };
    const secrets = (this.secrets.get(id) ?? []).filter((s) => s.type === credential.type);
    if (secrets.length === 0) return { ok: false, reason: 'no_credential' };
    const match = secrets.find((s) =>
      'verify' in credential ? credential.verify(Buffer.from(s.value)) : sameSecret(s.value, credential.secret),
    );
    return match ? { ok: true, device, credential: match.id } : { ok: false, reason: 'bad_secret' };
  }

  async discover(id: string, attrs: DiscoveredAttributes): Promise<DeviceRecord> {
    const known = this.devices.get(id);
    const device: DeviceRecord = known
      ? { ...known, ...definedOnly(attrs), kind: known.kind }
      : {
          id,
          ...definedOnly(attrs),
          kind: attrs.kind,
          lifecycle: this.autoAccept.has(attrs.kind) ? 'active' : 'pending',
        };
    this.devices.set(id, device);
    return device;
  }

  *all(): Iterable<DeviceRecord> {
    for (const d of this.devices.values()) if (d.lifecycle === 'active') yield d;
  }

  reportStatus(id: string, state: DeviceStatusState, lastSeen: number): void {
    this.statuses.set(id, { state, lastSeen });
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Constant-time comparison that does not leak the secret's length through an early exit. */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
