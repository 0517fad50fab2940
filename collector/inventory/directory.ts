import type {
  AuthResult,
  Credential,
  DeviceDirectory,
  DeviceRecord,
  DeviceStatusState,
  DiscoveredAttributes,
} from '../sdk/devices.ts';
import type { Credentials } from './credentials.ts';
import type { DeviceCache } from './device-records.ts';
import type { DeviceStatusWriter } from './device-status.ts';
import type { Devices } from './devices.ts';
import type { PendingGate } from './pending-gate.ts';
import { deviceIdProblem } from '../sdk/device-id.ts';
import { DiscoveryRefused } from '../sdk/errors.ts';

/**
 * The inventory as the runtime and plugins see it. `lookup` and `all` read the in-memory
 * records; `authenticate` reads credentials from the database every time, so a revocation
 * counts from the next attempt.
 */
export class InventoryDirectory implements DeviceDirectory {
  constructor(
    private readonly devices: Devices,
    private readonly records: DeviceCache,
    private readonly credentials: Credentials,
    private readonly status: DeviceStatusWriter,
    private readonly autoAccept: ReadonlySet<string>,
    private readonly gate: PendingGate,
  ) {}

  lookup(id: string): DeviceRecord | undefined {
    return this.records.get(id);
  }

  async authenticate(id: string, credential: Credential): Promise<AuthResult> {
    const device = this.records.get(id);
    if (!device) return { ok: false, reason: 'unknown_device' };
    if (device.lifecycle !== 'active') return { ok: false, reason: device.lifecycle };
    const { check, id: matched } = this.credentials.match(id, credential);
    if (check === 'none') return { ok: false, reason: 'no_credential' };
    return check === 'match' ? { ok: true, device, credential: matched } : { ok: false, reason: 'bad_secret' };
  }

  async issueSecret(id: string, type: string): Promise<{ credential: string; secret: string }> {
    const issued = this.credentials.issue(id, type);
    return { credential: issued.id, secret: issued.secret };
  }

  async retireOthers(id: string, type: string, keep: string): Promise<void> {
    this.credentials.revokeOthers(id, type, keep);
  }

  async revokeCredential(id: string, credential: string): Promise<void> {
    this.credentials.revoke(id, credential);
  }

  async discover(id: string, attrs: DiscoveredAttributes, source?: string): Promise<DeviceRecord> {
    const accept = this.autoAccept.has(attrs.kind);
    if (!this.records.get(id)) {
      // Every door's unknown ids meet the one id rule here, before a point carries them.
      const problem = deviceIdProblem(id);
      if (problem) throw new DiscoveryRefused(id, 'bad_id', problem);
      // Checked and recorded in one synchronous step: concurrent strangers cannot all pass.
      if (!accept) this.gate.admit(id, source);
    }
    this.devices.discover(id, attrs, accept);
    return this.records.get(id)!;
  }

  *all(): Iterable<DeviceRecord> {
    for (const record of this.records.values()) if (record.lifecycle === 'active') yield record;
  }

  reportStatus(id: string, state: DeviceStatusState, lastSeen: number): void {
    this.status.report(id, state, lastSeen);
  }
}
