/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access,
   @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call
   -- frames from the backend, checked by ocpp-rpc's strict mode before a handler sees them */
/**
 * The charger's side of offline authorization and reservations, for the simulated chargers and
 * the tests: keeps the local list it is sent (full and differential, versioned), authorizes from
 * it while the uplink is down, and holds the reservations it accepted, as a charge point does.
 */
import type { RPCClient } from 'ocpp-rpc';

export interface KeptEntry {
  status: string;
  expiry?: string;
  parent?: string;
  /** 2.0.1 idToken type. */
  type?: string;
}

export interface KeptReservation {
  connector: number;
  idTag: string;
  parent?: string;
  expiresAt: number;
}

export class ChargerAuthority {
  version = 0;
  readonly list = new Map<string, KeptEntry>();
  readonly reservations = new Map<number, KeptReservation>();
  /** Every SendLocalList received, in order. */
  readonly received: any[] = [];

  constructor(private readonly protocol: 'ocpp1.6' | 'ocpp2.0.1') {}

  /** Answers SendLocalList, GetLocalListVersion, ReserveNow and CancelReservation on `client`. */
  serve(client: RPCClient, busy: (connector: number) => boolean = () => false): void {
    const v16 = this.protocol === 'ocpp1.6';
    client.handle('SendLocalList', async ({ params }) => ({ status: this.apply(params) }));
    client.handle('GetLocalListVersion', async () =>
      v16 ? { listVersion: this.version } : { versionNumber: this.version },
    );
    client.handle('ReserveNow', async ({ params: p }) => {
      const params = p as any;
      const connector: number = v16 ? params.connectorId : (params.evseId ?? 0);
      if (busy(connector)) return { status: 'Occupied' };
      this.reservations.set(v16 ? params.reservationId : params.id, {
        connector,
        idTag: v16 ? params.idTag : params.idToken.idToken,
        parent: v16 ? params.parentIdTag : params.groupIdToken?.idToken,
        expiresAt: Date.parse(v16 ? params.expiryDate : params.expiryDateTime),
      });
      return { status: 'Accepted' };
    });
    client.handle('CancelReservation', async ({ params }) => ({
      status: this.reservations.delete((params as any).reservationId) ? 'Accepted' : 'Rejected',
    }));
  }

  /** What the charger decides on its own for a tag, uplink down: unknown tags are not allowed. */
  authorizeOffline(idTag: string, now = Date.now()): string {
    const e = this.list.get(idTag.toUpperCase());
    if (!e) return this.protocol === 'ocpp1.6' ? 'Invalid' : 'Unknown';
    if (e.status === 'Accepted' && e.expiry && Date.parse(e.expiry) <= now) return 'Expired';
    return e.status;
  }

  private apply(p: any): string {
    const v16 = this.protocol === 'ocpp1.6';
    this.received.push(p);
    const version: number = v16 ? p.listVersion : p.versionNumber;
    if (p.updateType === 'Differential' && version <= this.version) return 'VersionMismatch';
    if (p.updateType === 'Full') this.list.clear();
    for (const d of (p.localAuthorizationList ?? []) as any[]) {
      const id: string = (v16 ? d.idTag : d.idToken.idToken).toUpperCase();
      const info = v16 ? d.idTagInfo : d.idTokenInfo;
      if (!info) this.list.delete(id);
      else
        this.list.set(id, {
          status: info.status,
          ...(v16 && info.expiryDate ? { expiry: info.expiryDate } : {}),
          ...(!v16 && info.cacheExpiryDateTime ? { expiry: info.cacheExpiryDateTime } : {}),
          ...(v16 && info.parentIdTag ? { parent: info.parentIdTag } : {}),
          ...(!v16 && info.groupIdToken ? { parent: info.groupIdToken.idToken } : {}),
          ...(!v16 ? { type: d.idToken.type } : {}),
        });
    }
    this.version = version;
    return 'Accepted';
  }
}
