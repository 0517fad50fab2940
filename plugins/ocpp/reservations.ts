import type Database from 'better-sqlite3';
import { Type, type Static } from '../../collector/sdk/index.ts';
import type { OcppVersion } from './config.ts';
import type { TagVerdict } from './id-tags.ts';
import type { OcppCall } from './ocpp-call.ts';

/**
 * Reservations: a connector (2.0.1: an EVSE; 0 = the whole charger) kept for one id tag, or any
 * tag of its group (parent id tag), until a time. Stored in `ocpp_reservations` when sent, active
 * once the charger accepts, and honoured here too: while one holds, a Start on that connector by
 * another tag is refused, and so is an Authorize of another tag on a charger reserved as a whole
 * (Authorize names no connector). A reservation past its time is expired at every read.
 */
export type ReservationState = 'requested' | 'active' | 'rejected' | 'cancelled' | 'expired' | 'used';

export interface ReservationRow {
  id: number;
  charger: string;
  connector: number;
  id_tag: string;
  parent_id_tag: string | null;
  expires_at: number;
  state: ReservationState;
  reason: string | null;
  created_at: number;
  updated_at: number;
}

export const reservationSpecs = {
  reserve_now: {
    description: 'Reserves a connector (2.0.1 EVSE; 0 = the whole charger) for an id tag until a time (ReserveNow)',
    params: Type.Object(
      {
        connector: Type.Integer({ minimum: 0, default: 0, description: '1.6 connector id / 2.0.1 EVSE id; 0 = any' }),
        id_tag: Type.String({ minLength: 1, maxLength: 20 }),
        expires_at: Type.String({ format: 'date-time' }),
        parent_id_tag: Type.Optional(
          Type.String({ minLength: 1, maxLength: 20, description: 'Any tag of this group' }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  cancel_reservation: {
    description: 'Cancels a reservation (CancelReservation)',
    params: Type.Object({ reservation_id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
  },
};

export type ReserveParams = Static<typeof reservationSpecs.reserve_now.params>;

export class Reservations {
  private readonly s: Record<string, Database.Statement>;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert:
        p(`INSERT INTO ocpp_reservations (charger, connector, id_tag, parent_id_tag, expires_at, state, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, 'requested', ?, ?)`),
      get: p('SELECT * FROM ocpp_reservations WHERE id = ?'),
      settle: p('UPDATE ocpp_reservations SET state = ?, reason = ?, updated_at = ? WHERE id = ?'),
      expire: p(`UPDATE ocpp_reservations SET state = 'expired', reason = 'expired', updated_at = @now
                 WHERE state IN ('requested', 'active') AND expires_at <= @now`),
      holding: p(`SELECT * FROM ocpp_reservations WHERE charger = ? AND state = 'active' AND expires_at > ?`),
    };
  }

  /** Marks every reservation past its time expired; every read below calls it first. */
  expire(): void {
    this.s.expire.run({ now: this.now() });
  }

  get(id: number): ReservationRow | undefined {
    this.expire();
    return this.s.get.get(id) as ReservationRow | undefined;
  }

  list(f: { charger?: string; state?: ReservationState; after?: number; limit: number }): ReservationRow[] {
    this.expire();
    return this.db
      .prepare(
        `SELECT * FROM ocpp_reservations WHERE (@charger IS NULL OR charger = @charger) AND (@state IS NULL OR state = @state)
         AND (@after IS NULL OR id < @after) ORDER BY id DESC LIMIT @limit`,
      )
      .all({
        charger: f.charger ?? null,
        state: f.state ?? null,
        after: f.after ?? null,
        limit: f.limit,
      }) as ReservationRow[];
  }

  settle(id: number, state: ReservationState, reason: string | null = null): void {
    this.s.settle.run(state, reason, this.now(), id);
  }

  /**
   * The verdict on a tag that an id-tag check accepted, given the charger's reservations:
   * refused (`NotAtThisTime`, 1.6 `Invalid`) on a connector reserved for another tag or group.
   * `connector` undefined (Authorize) concerns only reservations of the whole charger (0).
   * With `start`, the reservation the tag holds there is used up.
   */
  honour(
    charger: string,
    connector: number | undefined,
    idTag: string,
    parentIdTag: string | undefined,
    verdict: TagVerdict,
    start: boolean,
  ): TagVerdict {
    if (verdict.status !== 'Accepted') return verdict;
    this.expire();
    const held = (this.s.holding.all(charger, this.now()) as ReservationRow[]).filter(
      (r) => r.connector === 0 || r.connector === connector,
    );
    if (held.length === 0) return verdict;
    const tag = idTag.toUpperCase();
    const parent = parentIdTag?.toUpperCase();
    const mine = held.find((r) => r.id_tag === tag || (r.parent_id_tag !== null && r.parent_id_tag === parent));
    if (!mine) return { status: 'NotAtThisTime' };
    if (start) this.settle(mine.id, 'used', `started on connector ${connector}`);
    return verdict;
  }

  /** The ReserveNow call; the reservation is stored now, active once the charger accepts it. */
  reserveCall(charger: string, version: OcppVersion, p: ReserveParams): OcppCall | string {
    const expiresAt = Date.parse(p.expires_at);
    if (expiresAt <= this.now()) return `expires_at ${p.expires_at} is not in the future`;
    const tag = p.id_tag.toUpperCase();
    const parent = p.parent_id_tag?.toUpperCase();
    const now = this.now();
    const id = Number(
      this.s.insert.run(charger, p.connector, tag, parent ?? null, expiresAt, now, now).lastInsertRowid,
    );
    const expiry = new Date(expiresAt).toISOString();
    const payload =
      version === 'ocpp1.6'
        ? {
            connectorId: p.connector,
            expiryDate: expiry,
            idTag: tag,
            reservationId: id,
            ...(parent ? { parentIdTag: parent } : {}),
          }
        : {
            id,
            expiryDateTime: expiry,
            idToken: { idToken: tag, type: 'ISO14443' },
            ...(p.connector > 0 ? { evseId: p.connector } : {}),
            ...(parent ? { groupIdToken: { idToken: parent, type: 'Central' } } : {}),
          };
    return {
      action: 'ReserveNow',
      payload,
      interpret: (a) => {
        const accepted = a.status === 'Accepted';
        this.settle(id, accepted ? 'active' : 'rejected', accepted ? null : String(a.status));
        const result = { ...a, reservation_id: id };
        return accepted ? { outcome: 'ok', result } : { outcome: 'rejected', result, reason: String(a.status) };
      },
    };
  }

  cancelCall(reservationId: number): OcppCall {
    return {
      action: 'CancelReservation',
      payload: { reservationId },
      interpret: (a) => {
        if (a.status !== 'Accepted') return { outcome: 'rejected', result: a, reason: String(a.status) };
        this.settle(reservationId, 'cancelled', 'cancelled by an operator');
        return { outcome: 'ok', result: { ...a, reservation_id: reservationId } };
      },
    };
  }

  /** 2.0.1 ReservationStatusUpdate: the charger expired or removed one of its reservations. */
  updatedByCharger(charger: string, reservationId: number, status: 'Expired' | 'Removed'): void {
    const row = this.s.get.get(reservationId) as ReservationRow | undefined;
    if (!row || row.charger !== charger || !['requested', 'active'].includes(row.state)) return;
    this.settle(reservationId, status === 'Expired' ? 'expired' : 'cancelled', `charger: ${status}`);
  }
}
